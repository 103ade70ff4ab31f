"""Admin pages: deliveries (built by its issue)."""
