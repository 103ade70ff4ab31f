"""Small helpers with no domain of their own (time zones, text, CSV safety,
countries, caching, request context, signed links, passwords, TOTP):
used by services, blueprints, tasks and commands alike."""
