"""Admin pages: audit (built by its issue)."""
