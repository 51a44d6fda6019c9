"""Operators for shipping (being written)."""
