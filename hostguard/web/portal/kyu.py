"""Routes of the portal surface for kyu."""
