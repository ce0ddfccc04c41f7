"""Background jobs kept in the database: enqueued in the same transaction as the change (outbox)."""
