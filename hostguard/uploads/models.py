"""Tables of hostguard.uploads (none yet)."""
