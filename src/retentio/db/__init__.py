"""Operational database: SQLAlchemy models, sessions and migrations."""
