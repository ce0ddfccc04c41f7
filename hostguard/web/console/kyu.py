"""Routes of the console surface for kyu."""
