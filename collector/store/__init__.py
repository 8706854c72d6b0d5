"""Storage: ClickHouse schema, migrations and parameterized queries."""
