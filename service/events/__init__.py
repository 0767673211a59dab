"""Order events: the outbox's watch feed and its servicer, and the relay to NATS JetStream."""
