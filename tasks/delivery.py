"""The generic send task for ledger rows (implemented by the reminders issue)."""
