"""The practice log and trigger diary (SQLite)."""
