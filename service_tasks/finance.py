"""Operators for finance (being written)."""
