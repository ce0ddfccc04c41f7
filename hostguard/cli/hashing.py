"""Commands of hostguard.hashing."""
