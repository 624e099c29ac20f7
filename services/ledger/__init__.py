"""Ledger port, its adapters, and the outbox that feeds them."""
