"""Background job handlers of hostguard.cases."""
