"""Commands of hostguard.cases."""
