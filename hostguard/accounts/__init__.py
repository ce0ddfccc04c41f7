"""Staff accounts (console users with roles) and API keys (platform integrations with scopes)."""
