"""Acting on the analytics: segments, flows, messages, channels and the outbox (docs/flows.md)."""
