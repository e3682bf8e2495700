"""Local stand-ins for production infrastructure: a real Kafka broker from Maven Central jars, a
throwaway PostgreSQL cluster from Debian's binaries, and the process supervisor behind ``lsq up``.
Used by ``make up``, the test fixtures and the benchmarks; never by the services themselves."""
