"""flask --app crm crm sweep-digests [--at ISO-TIME] (built by the digests issue)."""
