"""Routes of the api surface for uploads."""
