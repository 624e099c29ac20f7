"""Web pages served by the API."""
