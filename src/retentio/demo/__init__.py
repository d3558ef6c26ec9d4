"""A realistic synthetic shop with known generating parameters."""
