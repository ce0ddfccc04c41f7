"""Integrations with hosting platforms: Hugging Face Hub, signed webhooks, git hooks' server side."""
