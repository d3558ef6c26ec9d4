"""Privacy rights (GDPR Art. 15, 17, 20, 21): the registry of personal data, export, erasure, objection."""
