"""Personal data: one package owns a person's export, erasure, redaction and retention.

- `export`: everything held about a contact (or a user account) as one JSON document;
- `erasure`: erase a contact, find and redact free text that still names them;
- `retention`: the per-sensitivity retention policy and the nightly run that applies it.

The web, the API, the CLI and the beat task call these modules; nothing else changes
personal data in bulk.
"""
