"""Background job handlers of hostguard.ops."""
