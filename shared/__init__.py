"""Code every LSQ service uses: event contract, Kafka bus, outbox, inbox, database, auth, web."""
