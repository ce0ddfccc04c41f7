"""Routes of the api surface for hashing."""
