"""Actioners for real platforms (signed webhook, Hugging Face Hub); registered on import."""
