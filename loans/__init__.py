"""loans package."""
