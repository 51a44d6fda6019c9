"""Placeholder: filled in by the returns work (issue 6)."""
