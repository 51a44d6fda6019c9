"""The SpiffWorkflow runtime. Knows nothing about orders."""
