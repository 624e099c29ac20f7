"""Metrics, structured logs and health checks shared by every pledgewatch process."""
