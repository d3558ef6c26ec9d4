"""The HTTP side: pages that must work without a login (unsubscribe, feedback)."""
