"""Routes of the api surface for cases."""
