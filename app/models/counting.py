"""Placeholder: filled in by the counting work (issue 6)."""
