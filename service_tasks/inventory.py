"""Operators for inventory (being written)."""
