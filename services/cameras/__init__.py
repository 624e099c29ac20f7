"""Cameras on the service side: registry, vision events, evidence, live checks, the runner."""
