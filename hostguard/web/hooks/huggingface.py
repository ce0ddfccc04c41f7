"""Routes of the hooks surface for huggingface."""
