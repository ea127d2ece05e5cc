"""What the tests and the offline tools run the program and the servers with: the Pulumi mock
runtime and engine answers, and throwaway PostgreSQL, PgBouncer and Redis servers."""
