"""CLI commands, attached to the `crm` group in crm/cli.py."""
