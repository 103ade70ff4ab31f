"""Admin pages: users (built by its issue)."""
