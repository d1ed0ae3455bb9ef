"""6. Several daemons on one PostgreSQL database: 10,000 webhook deliveries over 1,000 channels, all
due at the same second, the fake platform answering after 100 ms (as in the fan-out benchmark),
sent by 1, 2 and 4 real daemon processes (`python -m postbot run`, each at the default concurrency
of 64). Throughput is judged against one daemon measured in the same run; exactly once is counted
from what the fake platform received per Idempotency-Key, not from the store."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.common import Result, Row, cpu_seconds, fake_server, rounded, stop
from benchmarks.daemon_setup import fill_store, set_due, start_daemon
from benchmarks.fanout import CONCURRENCY, LATENCY_MS, RATE_LIMIT, analyse

UTC = timezone.utc
FLEETS = (1, 2, 4)
# Two daemons should come close to twice one; four share two cores with the fake platform, so
# they are asked to keep the gain, not to double it again.
SCALE_TARGETS = {2: 1.6, 4: 1.6}
START_LEAD_S = 10.0         # every daemon has started and gone idle before the due second


def schema_url(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c search_path={schema}')}"


def _admin(url: str, sql: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def run_fleet(folder: Path, url: str, daemons: int, channels: int, per_channel: int,
              timeout: float) -> dict[str, Any]:
    schema = f"postbot_bench_fleet{daemons}"
    _admin(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    _admin(url, f"CREATE SCHEMA {schema}")
    store = schema_url(url, schema)
    expected = channels * per_channel
    try:
        fill_store(store, channels, per_channel, datetime.now(UTC) + timedelta(days=1))
        with fake_server(folder / f"fleet{daemons}.jsonl", latency_ms=LATENCY_MS, rate_limit=RATE_LIMIT) as server:
            due = (datetime.now(UTC) + timedelta(seconds=START_LEAD_S)).replace(microsecond=0)
            set_due(store, due)
            logs = [folder / f"fleet{daemons}-{n}.log" for n in range(daemons)]
            fleet = [start_daemon(store, channels, server.base, log) for log in logs]
            try:
                time.sleep(max(0.0, due.timestamp() - time.time() - 1.0))
                started = sum(" started" in log.read_text(errors="replace") for log in logs)
                cpu_before = [cpu_seconds(d.pid) for d in fleet]
                finished = server.wait_for(expected, timeout, alive=fleet)
                cpu_used = sum(cpu_seconds(d.pid) - before for d, before in zip(fleet, cpu_before)
                               if d.poll() is None)
            finally:
                for daemon in fleet:
                    stop(daemon)
            records, stats = server.records()
        found = analyse(records, stats, due.timestamp(), expected)
        texts = [log.read_text(errors="replace") for log in logs]
    finally:
        _admin(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    # Exactly once, as the platform saw it: every key answered 200 once, no key sent twice.
    sent = Counter(r["key"] for r in records)
    accepted = Counter(r["key"] for r in records if r["status"] == 200)
    wanted = {f"fan-p{p}-c{c}" for p in range(per_channel) for c in range(channels)}
    return found | {
        "daemons": daemons, "started_before_due": started, "finished": finished, "cpu_s": round(cpu_used, 2),
        "cpu_ms_per_delivery": round(1000 * cpu_used / expected, 3),
        "keys_accepted_once": sum(1 for key in wanted if accepted[key] == 1),
        "keys_missing": sum(1 for key in wanted if not accepted[key]),
        "keys_sent_twice": sum(1 for count in sent.values() if count > 1),
        "unexpected_keys": len(set(sent) - wanted),
        "published_per_daemon": [text.count(" published to ") for text in texts],
        "log_errors": [line for text in texts for line in text.splitlines() if " ERROR " in line][:5],
        "load_average": os.getloadavg()}


def run(quick: bool, postgres: tuple[str | None, str]) -> Result:
    url, how = postgres
    result = Result("daemons")
    if url is None:
        result.rows.append(Row("several daemons on one PostgreSQL database", None, "", skipped=f"not run: {how}"))
        return result
    channels, per_channel = (500, 4) if quick else (1000, 10)
    total = channels * per_channel
    folder = Path(tempfile.mkdtemp(prefix="postbot-bench-daemons-"))
    runs: dict[int, dict[str, Any]] = {}
    try:
        for count in FLEETS:
            runs[count] = run_fleet(folder, url, count, channels, per_channel, timeout=120 if quick else 400)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result.details = {"deliveries": total, "channels": channels, "latency_ms": LATENCY_MS,
                      "concurrency_per_daemon": CONCURRENCY, "source": how,
                      "runs": {str(n): rounded(found) for n, found in runs.items()}}
    one = runs[1]
    for count, found in runs.items():
        makespan = found["makespan_s"]
        label = "1 daemon" if count == 1 else f"{count} daemons"
        why = "" if found["finished"] else f"only {found['answered_ok']:,}/{total:,} answered before the timeout"
        if found["started_before_due"] < count:
            why += f" {found['started_before_due']}/{count} daemons had started by the due time"
        result.rows.append(Row(f"{label}: time until the last of {total:,} is sent", makespan, "s",
                               baseline=None if count == 1 else one["makespan_s"], baseline_label="1 daemon",
                               why=why or f"CPU {found['cpu_ms_per_delivery']:.2f} ms per delivery, load "
                                          f"{found['load_average'][0]:.1f}"))
        if count > 1:
            scale = one["makespan_s"] / makespan if makespan and one["makespan_s"] else None
            # A quick run is over in a few seconds, where opening every connection at the due
            # second weighs as much as sending: scaling is judged on the full run only.
            result.rows.append(Row(f"{label}: throughput / one daemon's", scale, "x",
                                   target=None if quick else SCALE_TARGETS.get(count), higher_is_better=True,
                                   why=why or ("quick run: judged on the full run" if quick else "")
                                   or _why_flat(found, count)))
        violations = (found["keys_missing"] + found["keys_sent_twice"] + found["unexpected_keys"]
                      + (found["overlaps"] or 0) + (found["sent_during_retry_after"] or 0))
        result.rows.append(Row(f"{label}: keys the platform got other than exactly once", float(violations),
                               "violations", target=0.0,
                               why=f"accepted once {found['keys_accepted_once']:,}/{total:,}, missing "
                                   f"{found['keys_missing']}, sent twice {found['keys_sent_twice']}, overlaps "
                                   f"{found['overlaps']}, during Retry-After {found['sent_during_retry_after']}, "
                                   f"published per daemon {found['published_per_daemon']}"))
    return result


def _why_flat(found: dict[str, Any], count: int) -> str:
    floor = found["expected"] * LATENCY_MS / 1000 / (CONCURRENCY * count)
    return (f"{count} x {CONCURRENCY} in flight needs {floor:.1f} s at {LATENCY_MS} ms; the daemons used "
            f"{found['cpu_s']:.0f} s of CPU on {os.cpu_count()} cores (load {found['load_average'][0]:.1f})")
