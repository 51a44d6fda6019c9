"""Placeholder: filled in by the procurement work (issue 6)."""
