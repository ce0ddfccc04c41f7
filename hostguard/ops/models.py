"""Tables of hostguard.ops (none yet)."""
