"""Routes of the public surface for notices."""
