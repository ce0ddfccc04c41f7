"""Commands of hostguard.ops."""
