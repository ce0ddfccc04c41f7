"""Background job handlers of hostguard.hashing."""
