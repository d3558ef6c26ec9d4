"""The customer's voice: NPS and CSAT surveys with throttling, service cases, and what they say (docs/surveys.md, docs/cases.md)."""
