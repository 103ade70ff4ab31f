"""Shared test helpers: services, factories, HTTP helpers."""
