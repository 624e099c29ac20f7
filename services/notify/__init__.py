"""Pushing alert changes to people: a live SSE stream per organisation and signed webhooks."""

# Whatever loads these tables (the app, the jobs, migrations, tests) also gets the SQL alert
# store installed, so a margin call raised in any of them is never refused for want of a store.
from services.notify import store as _store  # noqa: F401
