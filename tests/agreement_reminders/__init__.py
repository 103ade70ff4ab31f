"""Agreement expiry and report reminders (issue 15): crm/services/agreement_reminders.py."""
