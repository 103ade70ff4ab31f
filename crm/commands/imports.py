"""flask --app crm crm import-partners FILE.csv (built by the import issue)."""
