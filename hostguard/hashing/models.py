"""Tables of hostguard.hashing (none yet)."""
