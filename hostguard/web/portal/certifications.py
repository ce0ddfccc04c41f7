"""Routes of the portal surface for certifications."""
