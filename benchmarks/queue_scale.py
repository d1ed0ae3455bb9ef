"""3. Queue scale, on SQLite and on PostgreSQL:

- queueing 100,000 deliveries with store.add_many (and the add_post path `postbot queue` uses),
  against the driver's own bulk insert of the same rows;
- claiming from a store holding 1,000,000 deliveries (history, future and due rows), with 64
  already in flight as in a busy daemon, against a primary-key read (store.get) on the same store,
  without planner statistics and then after ANALYZE (VACUUM ANALYZE on PostgreSQL);
- on the same store, what `postbot list --state scheduled --limit 50` and `postbot status` do after
  start-up (the use case and its table), against the same store.get;
- the claim query's plan (store.explain_claim()), which must use an index.
The 1,000,000-row stores are built with bulk inserts (executemany in big transactions, COPY)."""
from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import REPO, Result, Row, median, percentile, rounded

UTC = timezone.utc
QUEUE_TARGET_S = 10.0
CLAIM_TARGET_MS = 2.0       # issue 14: at 1,000,000 rows, with and without planner statistics
LIST_TARGET_MS = 50.0       # `postbot list --state scheduled --limit 50`, after start-up
STATUS_TARGET_MS = 200.0    # `postbot status --offline`, after start-up
CHANNELS = 1000
IN_FLIGHT = 64
COLUMNS = ("post_id", "channel", "platform", "due_at", "run_at", "state", "idempotency_key", "parts", "updated_at")


def sample_parts() -> list:
    """A real rendered part (the example post for X), so rows are the size they are in use."""
    from postbot.config import load_settings
    from postbot.posts import load_post
    from postbot.render import Renderer
    settings = load_settings({"POSTBOT_TIMEZONE": "UTC", "POSTBOT_CHANNELS": "x=outbox"})
    render = Renderer().render(load_post(REPO / "posts" / "hip-thrust-alternatives.md"), settings.channels[0])
    return render.parts


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def new_post(store, now: datetime, slug: str = "bench") -> int:
    store.add_post(slug=slug, title="bench", source="bench.md", snapshot={"slug": slug}, deliveries=[], now=now)
    with store.transaction() as cur:
        return store.execute(cur, "SELECT MAX(id) FROM posts").fetchone()[0]


def million_rows(post_id: int, total: int, due_now: int, now: datetime, parts_json: str):
    """History (published), future (scheduled later) and due rows, channels round-robin, ids shuffled in time."""
    now_ms = ms(now)
    future = total // 10
    history = total - future - due_now
    rng = random.Random(7)
    year = 365 * 86400 * 1000
    for i in range(total):
        channel = f"c{i % CHANNELS}"
        if i < history:
            due, state = now_ms - rng.randrange(60_000, year), "published"
        elif i < history + future:
            due, state = now_ms + rng.randrange(60_000, 90 * 86400 * 1000), "scheduled"
        else:
            due, state = now_ms - rng.randrange(0, 600_000), "scheduled"
        yield (post_id, channel, "generic", due, due, state, f"bulk-{i}", parts_json, now_ms)


class Backend:
    """What differs between SQLite and PostgreSQL for the benchmark itself."""

    name = ""
    baseline_label = ""
    analyze_label = "ANALYZE"
    analyzed_in_use = True          # whether real stores have planner statistics

    def fresh_store(self, tag: str):
        raise NotImplementedError

    def bare_bulk_insert(self, store, rows: list[tuple]) -> None:
        raise NotImplementedError

    def bulk_load(self, store, rows) -> None:
        raise NotImplementedError

    def analyze(self, store) -> None:
        with store.transaction() as cur:
            cur.execute("ANALYZE")

    def uses_index(self, plan: list[str]) -> bool:
        raise NotImplementedError

    def cleanup(self) -> None:
        pass


class SQLiteBackend(Backend):
    name = "SQLite"
    baseline_label = "sqlite3 executemany, same rows"
    analyzed_in_use = False         # postbot never runs ANALYZE; sqlite_stat1 does not exist in use

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="postbot-bench-sqlite-"))

    def fresh_store(self, tag: str):
        from postbot.store.sqlite import SQLiteStore
        store = SQLiteStore(str(self.folder / f"{tag}.db"))
        store.migrate()
        return store

    def bare_bulk_insert(self, store, rows: list[tuple]) -> None:
        conn = store._connection()
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         rows)
        conn.execute("COMMIT")

    def bulk_load(self, store, rows) -> None:
        """Indexes are dropped during the load and built again after: the usual bulk-load order."""
        conn = store._connection()
        indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'deliveries' AND sql IS NOT NULL")]
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                            "AND tbl_name = 'deliveries' AND sql IS NOT NULL")]
        for name in names:
            conn.execute(f"DROP INDEX {name}")
        self._insert(conn, rows)
        for statement in indexes:
            conn.execute(statement)

    def _insert(self, conn, rows) -> None:
        sql = f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 200_000:
                conn.execute("BEGIN")
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
                batch.clear()
        if batch:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")

    def uses_index(self, plan: list[str]) -> bool:
        on_deliveries = [line for line in plan if line.startswith(("SCAN deliveries", "SEARCH deliveries"))]
        return bool(on_deliveries) and all("USING" in line and "INDEX" in line for line in on_deliveries)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresBackend(Backend):
    name = "PostgreSQL"
    baseline_label = "psycopg COPY, same rows"
    analyze_label = "VACUUM ANALYZE"
    analyzed_in_use = True          # autovacuum analyzes a table this size on its own

    def __init__(self, url: str):
        self.url = url
        self.schemas: list[str] = []

    def _admin(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def fresh_store(self, tag: str):
        from urllib.parse import quote

        from postbot.store.postgres import PostgresStore
        schema = f"postbot_bench_{tag}"
        self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self._admin(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        separator = "&" if "?" in self.url else "?"
        store = PostgresStore(f"{self.url}{separator}options={quote(f'-c search_path={schema}')}")
        store.migrate()
        return store

    def _copy(self, store, rows) -> None:
        conn = store._connection()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY deliveries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def bare_bulk_insert(self, store, rows: list[tuple]) -> None:
        self._copy(store, rows)

    def bulk_load(self, store, rows) -> None:
        """Plain indexes are dropped during the COPY and built again after (constraints stay)."""
        conn = store._connection()
        found = conn.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'deliveries' "
                             "AND i.schemaname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                             "WHERE c.conname = i.indexname)").fetchall()
        for name, _ in found:
            conn.execute(f"DROP INDEX {name}")
        # No statistics until the benchmark asks for them: autovacuum would analyze a table this size.
        conn.execute("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
        self._copy(store, rows)
        for _, definition in found:
            conn.execute(definition)
        conn.execute("CHECKPOINT")      # the load's writes go out now, not during the timings

    def analyze(self, store) -> None:
        conn = store._connection()
        conn.execute("VACUUM ANALYZE deliveries")
        conn.execute("ALTER TABLE deliveries RESET (autovacuum_enabled)")

    def uses_index(self, plan: list[str]) -> bool:
        text = "\n".join(plan)
        return "Seq Scan on deliveries" not in text and "deliveries_claim" in text

    def cleanup(self) -> None:
        for schema in self.schemas:
            try:
                self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            except Exception:       # the server may already be gone; nothing to keep tidy then
                pass


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def measure_queueing(backend: Backend, count: int, add_post_posts: int, parts: list, now: datetime) -> tuple[list[Row], dict]:
    store = backend.fresh_store("queue")
    post_id = new_post(store, now)
    due = now + timedelta(days=1)
    rows = [(post_id, f"c{i % CHANNELS}", "generic", due + timedelta(seconds=i % 3600), f"q-{i}", parts)
            for i in range(count)]
    add_many_s, _ = _timed(lambda: store.add_many(rows, now))
    store.close()

    bare = backend.fresh_store("queue_bare")
    bare_post = new_post(bare, now)
    parts_json, now_ms = json.dumps([p.to_json() for p in parts]), ms(now)
    raw = [(bare_post, c, p, ms(d), ms(d), "scheduled", k, parts_json, now_ms) for _, c, p, d, k, _ in rows]
    bare_s, _ = _timed(lambda: backend.bare_bulk_insert(bare, raw))
    bare.close()

    per_post = 100
    posts = backend.fresh_store("queue_posts")
    add_post_s = 0.0
    for index in range(add_post_posts):
        deliveries = [{"channel": f"c{c}", "platform": "generic", "due_at": due, "parts": parts,
                       "idempotency_key": f"p{index}-c{c}"} for c in range(per_post)]
        elapsed, _ = _timed(lambda: posts.add_post(slug=f"p{index}", title="bench", source="bench.md",
                                                   snapshot={"slug": f"p{index}"}, deliveries=deliveries, now=now))
        add_post_s += elapsed
    posts.close()
    added = add_post_posts * per_post
    projected = add_post_s / added * count
    label = f"{count:,}"
    return [
        Row(f"{backend.name}: queue {label} with add_many", add_many_s, "s", baseline=bare_s,
            baseline_label=backend.baseline_label, target=QUEUE_TARGET_S * count / 100_000),
        Row(f"{backend.name}: queue {label} with add_post ({per_post}/post; {added:,} timed, scaled)", projected, "s",
            baseline=add_many_s, baseline_label="add_many", target=QUEUE_TARGET_S * count / 100_000,
            why=(f"one transaction per post ({count // per_post:,} commits) against add_many's one, and every "
                 f"delivery read back and decoded" if projected > QUEUE_TARGET_S * count / 100_000 else "")),
    ], {"add_many_s": round(add_many_s, 3), "bare_bulk_s": round(bare_s, 3),
        "add_post_deliveries_timed": added, "add_post_s": round(add_post_s, 3)}


def claim_loop(store, now: datetime, worker: str, in_flight: list, count: int) -> tuple[list[float], list[float], int]:
    """A busy daemon's steady state: one finishes (untimed), one is claimed (timed) with the rest
    excluded, then one store.get (timed): the baseline, taken in the same moments as the claims."""
    times, gets, empty = [], [], 0
    for _ in range(count):
        if in_flight:
            done = in_flight.pop(0)
            store.finish(done.id, worker=worker, state=_published(), now=now)
        busy = tuple(d.channel for d in in_flight)
        elapsed, got = _timed(lambda: store.claim_due(now, worker=worker, lease_seconds=120, limit=1,
                                                      exclude_channels=busy))
        times.append(elapsed * 1000)
        empty += not got
        in_flight.extend(got)
        if in_flight:
            gets.append(_timed(lambda: store.get(in_flight[-1].id))[0] * 1000)
    return times, gets, empty


def measure_claims(backend: Backend, total: int, claims: int, parts: list, now: datetime) -> tuple[list[Row], dict]:
    store = backend.fresh_store("claim")
    post_id = new_post(store, now)
    due_now = max(IN_FLIGHT + claims * 3, 10_000 if total >= 1_000_000 else 2_000)
    build_s, _ = _timed(lambda: backend.bulk_load(store, million_rows(post_id, total, due_now, now, json.dumps([p.to_json() for p in parts]))))
    plan = store.explain_claim()
    indexed = backend.uses_index(plan)
    worker = "bench:1:claims"

    burst_s, in_flight = _timed(lambda: store.claim_due(now, worker=worker, lease_seconds=120, limit=IN_FLIGHT))
    in_flight = list(in_flight)
    bare = reads(store, now, worker, in_flight, claims)
    analyze_s, _ = _timed(lambda: backend.analyze(store))
    analyzed_plan = store.explain_claim()
    analyzed = reads(store, now, worker, in_flight, max(20, claims // 3) if not backend.analyzed_in_use else claims)
    get_ms = bare["get_ms"] + analyzed["get_ms"]
    next_ms = [_timed(store.next_run_at)[0] * 1000 for _ in range(5)]
    reclaim_ms = [_timed(lambda: store.reclaim(now, worker=worker, lease_seconds=120,
                                               claimant_gone=lambda _by: False))[0] * 1000 for _ in range(5)]
    store.close()
    label, get, after = f"{total:,}", median(get_ms), backend.analyze_label
    # Lists and status are judged as stores are in use: SQLite without statistics (postbot never
    # runs ANALYZE), PostgreSQL after autovacuum has been (a fresh bulk load is not yet visible to
    # index-only counts). The other state is shown beside it.
    used, other, other_label = (analyzed, bare, f"before {after}") if backend.analyzed_in_use else \
        (bare, analyzed, f"after {after}")
    in_use = f" (after {after})" if backend.analyzed_in_use else ""
    plan_note = "plan uses an index" if indexed else "plan does NOT use an index: " + " / ".join(plan)
    rows = [
        Row(f"{backend.name}: claim 1 at {label} rows, {IN_FLIGHT} in flight, no statistics (median)",
            median(bare["claim_ms"]), "ms", baseline=median(bare["get_ms"]), baseline_label="store.get(id)",
            target=CLAIM_TARGET_MS, why=plan_note),
        Row(f"{backend.name}: claim 1 at {label} rows after {after} (median)", median(analyzed["claim_ms"]), "ms",
            baseline=median(analyzed["get_ms"]), baseline_label="store.get(id)", target=CLAIM_TARGET_MS,
            why="plan after " + after + ": " + " / ".join(analyzed_plan)),
        Row(f"{backend.name}: claim 1 at {label} rows (p95, both)", percentile(bare["claim_ms"] + analyzed["claim_ms"], 95),
            "ms", baseline=percentile(get_ms, 95), baseline_label="store.get(id) p95"),
        Row(f"{backend.name}: `list --state scheduled --limit 50` at {label} rows{in_use}", median(used["list_ms"]), "ms",
            baseline=get, baseline_label="store.get(id)", target=LIST_TARGET_MS,
            why=f"{other_label}: {median(other['list_ms']):.1f} ms"),
        Row(f"{backend.name}: `status --offline` at {label} rows{in_use}", median(used["status_ms"]), "ms",
            baseline=get, baseline_label="store.get(id)", target=STATUS_TARGET_MS,
            why=f"{other_label}: {median(other['status_ms']):.0f} ms" + (
                " (counting a million rows reads the table until VACUUM marks its pages all-visible)"
                if backend.analyzed_in_use and median(other["status_ms"]) > STATUS_TARGET_MS else "")),
        Row(f"{backend.name}: claim {IN_FLIGHT} at once at {label} rows", burst_s * 1000, "ms",
            baseline=get * IN_FLIGHT, baseline_label=f"{IN_FLIGHT} x store.get"),
        Row(f"{backend.name}: claim query uses an index", 1.0 if indexed else 0.0, "", target=1.0,
            higher_is_better=True, why=" / ".join(plan)),
        Row(f"{backend.name}: next_run_at() at {label} rows (runs on every daemon wake)", median(next_ms), "ms",
            baseline=get, baseline_label="store.get(id)"),
        Row(f"{backend.name}: reclaim() at {label} rows (runs on every daemon wake)", median(reclaim_ms), "ms",
            baseline=get, baseline_label="store.get(id)"),
    ]
    return rows, {
        "rows": total, "due_now": due_now, "build_s": round(build_s, 1), "analyze_s": round(analyze_s, 1),
        "explain_claim": plan, "explain_claim_after_analyze": analyzed_plan,
        "no_statistics": rounded(bare), "after_analyze": rounded(analyzed),
        "next_run_at_ms": [round(v, 2) for v in next_ms], "reclaim_ms": [round(v, 2) for v in reclaim_ms]}


def reads(store, now: datetime, worker: str, in_flight: list, claims: int) -> dict[str, Any]:
    """Claims as a busy daemon makes them, then what `list` and `status` do after start-up."""
    from postbot import app, output
    from postbot.config import load_settings
    settings = load_settings({"POSTBOT_TIMEZONE": "UTC"})      # the ten default channels
    claim_ms, get_ms, empty = claim_loop(store, now, worker, in_flight, claims)

    def listing() -> str:
        return output.deliveries_table(app.list_deliveries(store, "scheduled", limit=50), settings, 120)

    def status() -> str:
        return output.status_text(output.status_json(app.status(settings, store, now, offline=True)), settings)

    return {"claim_ms": claim_ms, "get_ms": get_ms, "claims_that_got_nothing": empty,
            "list_ms": [_timed(listing)[0] * 1000 for _ in range(7)],
            "status_ms": [_timed(status)[0] * 1000 for _ in range(5)]}


def _published():
    from postbot.models import State
    return State.PUBLISHED


def run_backend(backend: Backend, quick: bool) -> tuple[list[Row], dict]:
    now = datetime.now(UTC).replace(microsecond=0)
    parts = sample_parts()
    count = 20_000 if quick else 100_000
    total = 100_000 if quick else 1_000_000
    try:
        queue_rows, queue_details = measure_queueing(backend, count, 10 if quick else 100, parts, now)
        claim_rows, claim_details = measure_claims(backend, total, 50 if quick else 300, parts, now)
    finally:
        backend.cleanup()
    return queue_rows + claim_rows, {"queueing": queue_details, "claims": claim_details}


def run(quick: bool, postgres: tuple[str | None, str]) -> Result:
    result = Result("queue")
    rows, details = run_backend(SQLiteBackend(), quick)
    result.rows += rows
    result.details["sqlite"] = details
    url, how = postgres
    if url is None:
        result.rows.append(Row("PostgreSQL: queueing and claims", None, "", skipped=f"not run: {how}"))
        result.details["postgresql"] = {"skipped": how}
    else:
        from benchmarks.postgres import server_facts
        rows, details = run_backend(PostgresBackend(url), quick)
        result.rows += rows
        result.details["postgresql"] = details | {"server": server_facts(url), "source": how}
    return result
