"""Identity and access: organisations, users, passwords, tokens and machine API keys."""
