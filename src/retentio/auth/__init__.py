"""Who may do what: users, API keys, sessions, and the role check every service makes."""
