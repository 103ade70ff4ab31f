"""Admin pages: imports (built by its issue)."""
