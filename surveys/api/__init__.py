"""The read-only API for reporting tools: keys, the endpoints under /api/v1/, and their schema."""
