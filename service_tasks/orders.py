"""Operators for orders (being written)."""
