"""Importing customers, orders and the rest from CSV, Parquet and Excel files."""
