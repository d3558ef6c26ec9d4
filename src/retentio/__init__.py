"""Retentio: self-hosted customer-retention analytics."""

__version__ = "0.1.0"
