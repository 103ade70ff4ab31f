"""flask --app crm crm sweep-reminders (built by the reminders issue)."""
