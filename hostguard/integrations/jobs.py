"""Background job handlers of hostguard.integrations."""
