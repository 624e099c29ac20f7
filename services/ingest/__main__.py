"""``python -m services.ingest``: the ingest worker, without the rest of the command line."""

from services.ingest.cli import main

main()
