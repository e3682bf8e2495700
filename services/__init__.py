"""LSQ's services: each owns one concern and its own database, and talks through Kafka events."""
