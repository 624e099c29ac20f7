"""API routers, one per resource family."""
