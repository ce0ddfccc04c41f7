"""Notice-and-action: cases, notices, authority orders, decisions, statements of reasons, appeals."""
