"""Ordered, named schema steps. Each runs once per database and is recorded in schema_migrations.
`{id}` and `{int}` are filled in per dialect; times are integer milliseconds since the epoch (UTC)."""

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_initial", [
        """CREATE TABLE posts (
            id {id},
            slug TEXT NOT NULL,
            title TEXT NOT NULL,
            source TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            created_at {int} NOT NULL)""",
        """CREATE TABLE deliveries (
            id {id},
            post_id {int} NOT NULL REFERENCES posts(id),
            channel TEXT NOT NULL,
            platform TEXT NOT NULL,
            due_at {int} NOT NULL,
            run_at {int} NOT NULL,
            state TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            attempts INTEGER NOT NULL DEFAULT 0,
            remote_id TEXT,
            remote_url TEXT,
            error TEXT,
            parts TEXT NOT NULL,
            progress TEXT NOT NULL DEFAULT '{{}}',
            claimed_by TEXT,
            lease_until {int},
            updated_at {int} NOT NULL)""",
        "CREATE INDEX deliveries_claim ON deliveries (state, run_at)",
        "CREATE INDEX deliveries_channel ON deliveries (channel, state)",
        "CREATE INDEX deliveries_post ON deliveries (post_id)",
        """CREATE TABLE attempts (
            id {id},
            delivery_id {int} NOT NULL REFERENCES deliveries(id),
            at {int} NOT NULL,
            status INTEGER,
            error TEXT,
            latency_ms REAL,
            outcome TEXT NOT NULL)""",
        "CREATE INDEX attempts_delivery ON attempts (delivery_id)",
        """CREATE TABLE channel_holds (
            channel TEXT PRIMARY KEY,
            until_at {int} NOT NULL,
            reason TEXT)""",
        """CREATE TABLE channel_state (
            channel TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (channel, key))""",
    ]),
]
