"""Signed links in reminder emails: confirm-then-POST Mark done / Snooze (reminders issue)."""
