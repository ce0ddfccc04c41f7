"""Background job handlers of hostguard.uploads."""
