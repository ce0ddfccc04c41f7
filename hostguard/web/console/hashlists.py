"""Routes of the console surface for hashlists."""
