"""pledge package."""
