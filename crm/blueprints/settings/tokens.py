"""/settings/tokens: personal API tokens (built by the API issue)."""
