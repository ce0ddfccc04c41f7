"""Commands of hostguard.uploads."""
