"""Retention analytics written once as Ibis expressions, run on DuckDB, PostgreSQL or Spark."""
