"""Agreement reports and The Code members view (issue 15)."""
