"""Demo cases for `hostguard demo`."""


def seed(session, runtime) -> None:
    """Add demo cases (filled in by the cases domain)."""
