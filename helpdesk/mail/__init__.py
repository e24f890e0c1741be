"""E-mail notifications through an outbox: rows saved with the change, sent by a worker."""
