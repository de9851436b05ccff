"""Persistence: SQLite by default, PostgreSQL by URL; append-only history and audit trail."""
