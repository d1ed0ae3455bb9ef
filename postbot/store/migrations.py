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
    # Sources (feeds, a watched folder) remember every item they have seen, so an item is queued
    # at most once: by guid, and by normalised link (a feed that changes an item's guid keeps
    # its link). `state`: new (seen, not yet queued), queued (post_id set), skipped (seen on a
    # first poll, deliberately not queued), failed (detail says why).
    ("0002_sources", [
        """CREATE TABLE feeds (
            id {id},
            url TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE,
            options TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            next_poll_at {int} NOT NULL,
            last_poll_at {int},
            last_status INTEGER,
            last_result TEXT,
            created_at {int} NOT NULL)""",
        """CREATE TABLE source_items (
            id {id},
            source TEXT NOT NULL,
            guid TEXT NOT NULL,
            link TEXT,
            title TEXT NOT NULL,
            state TEXT NOT NULL,
            item TEXT NOT NULL,
            post_id {int} REFERENCES posts(id),
            detail TEXT,
            seen_at {int} NOT NULL,
            UNIQUE (source, guid),
            UNIQUE (source, link))""",
        "CREATE INDEX source_items_pending ON source_items (state, source)",
        # A source's first look (even at an empty feed or folder) is the one that only takes the newest.
        """CREATE TABLE sources_seen (
            source TEXT PRIMARY KEY,
            first_seen_at {int} NOT NULL)""",
        """CREATE TABLE notices (
            id {id},
            at {int} NOT NULL,
            subject TEXT NOT NULL,
            message TEXT NOT NULL)""",
    ]),
    # Alerts (POSTBOT_ALERTS): each event once, by a key made from the event itself; `sent_at` is set by
    # the digest that carried it. A digest is an ordinary post whose deliveries go to the alert channels;
    # alert_posts says which posts are digests, so their own failures never raise alerts. The partial
    # index lets the daemon look at recently failed deliveries without reading every finished one.
    ("0003_alerts", [
        """CREATE TABLE alert_events (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            message TEXT NOT NULL,
            at {int} NOT NULL,
            sent_at {int})""",
        "CREATE INDEX alert_events_pending ON alert_events (kind, sent_at)",
        """CREATE TABLE alert_posts (
            post_id {int} PRIMARY KEY REFERENCES posts(id),
            kind TEXT NOT NULL,
            at {int} NOT NULL)""",
        "CREATE INDEX deliveries_finished_badly ON deliveries (state, updated_at) WHERE state IN ('failed', 'unknown')",
    ]),
    # A queue of a million deliveries (issue 14), almost all of them history. Partial indexes hold
    # only the rows the daemon looks for, so the claim and the busy-channel check read a few
    # entries however long the history grows, with or without planner statistics; lists read in
    # due order from an index instead of sorting. The claim index keeps its name (it is what
    # explain_claim() and the SQLite claim name).
    ("0004_queue_indexes", [
        "DROP INDEX deliveries_claim",
        "CREATE INDEX deliveries_claim ON deliveries (run_at, id) WHERE state = 'scheduled'",
        "CREATE INDEX deliveries_in_flight ON deliveries (channel) WHERE state = 'publishing'",
        "CREATE INDEX deliveries_state_due ON deliveries (state, due_at, id)",
        "CREATE INDEX deliveries_due ON deliveries (due_at, id)",
    ]),
]
