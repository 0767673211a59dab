"""Redis adapters: the guard that fails open, rate limits, idempotency records."""
