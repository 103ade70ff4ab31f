"""/settings/digest: preferences and preview (built by the digests issue)."""
