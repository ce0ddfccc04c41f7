"""Routes of the console surface for cases."""
