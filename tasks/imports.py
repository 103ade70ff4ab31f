"""Import tasks (built by the import issue)."""
