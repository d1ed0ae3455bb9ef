"""4. Fan-out: 10,000 deliveries across 1,000 webhook channels, all due at the same second, the fake
platform answering after 100 ms, sent by the real daemon process (`python -m postbot run`).
Compared with bare asyncio + httpx loops sending the same requests at the same concurrency
(benchmarks.floor_client), each against a fresh fake server with the same settings: the faster
of the two httpx loops is the floor. Time, p99 lateness and CPU per delivery are judged against it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import (REPO, Result, Row, cpu_seconds, fake_server, percentile, proc_status, python_env,
                               rounded, stop)
from benchmarks.daemon_setup import fill_store, set_due, start_daemon

UTC = timezone.utc
LATENCY_MS = 100
RATE_LIMIT = "3/1"          # per channel: a burst guard no sender at this concurrency needs to exceed
CONCURRENCY = 64            # postbot's default POSTBOT_CONCURRENCY, used for the floor too
RATIO_TARGET = 1.25         # total time and p99 lateness, each against the floor's (issue 14)
CPU_TARGET_MS = 1.75        # CPU per delivery: half the ~3.5 ms measured before issue 14
RSS_TARGET_MB = 200.0
START_LEAD_S = 6.0          # the daemon starts and goes idle before the due second


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def analyse(records: list[dict[str, Any]], stats: dict[str, Any], due: float, expected: int) -> dict[str, Any]:
    ok = [r for r in records if r["status"] == 200]
    keys = [r["key"] for r in ok]
    lateness = [r["received"] - (_epoch(r["due_at"]) or due) for r in ok]
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for record in ok:
        by_channel[record["path"]].append(record)
    out_of_order = 0
    for items in by_channel.values():
        items.sort(key=lambda r: r["received"])
        order = [int(r["key"].split("-")[1][1:]) for r in items]    # fan-p<post>-c<channel>
        out_of_order += sum(1 for a, b in zip(order, order[1:]) if b < a)
    return {
        "answered_ok": len(ok), "expected": expected, "duplicates": len(keys) - len(set(keys)),
        "requests": len(records), "statuses": stats.get("statuses", {}),
        "makespan_s": (max(r["sent"] for r in ok) - due) if ok else None,
        "first_received_s": (min(r["received"] for r in ok) - due) if ok else None,
        "lateness_p50_s": percentile(lateness, 50), "lateness_p95_s": percentile(lateness, 95),
        "lateness_p99_s": percentile(lateness, 99), "lateness_max_s": max(lateness) if lateness else None,
        "out_of_order": out_of_order, "overlaps": stats.get("overlaps"),
        "sent_during_retry_after": stats.get("hold_violations"), "rate_limited_429": stats.get("statuses", {}).get("429", 0),
        "peak_connections": stats.get("peak_connections"),
    }


def run_floor(folder: Path, channels: int, per_channel: int, mode: str = "httpx") -> dict[str, Any]:
    with fake_server(folder / f"floor-{mode}.jsonl", latency_ms=LATENCY_MS, rate_limit=RATE_LIMIT) as server:
        due = time.time() + 3.0
        due_iso = datetime.fromtimestamp(due, UTC).isoformat().replace("+00:00", "Z")
        done = subprocess.run([sys.executable, "-m", "benchmarks.floor_client", "--base", server.base,
                               "--channels", str(channels), "--per-channel", str(per_channel),
                               "--concurrency", str(CONCURRENCY), "--at", str(due), "--due-at", due_iso,
                               "--mode", mode],
                              cwd=REPO, env=python_env(), capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"floor client failed: {done.stderr[-500:]}")
        client = json.loads(done.stdout.strip().splitlines()[-1])
        records, stats = server.records()
    found = analyse(records, stats, due, channels * per_channel)
    return found | {"peak_rss_mb": client["vmhwm_kb"] / 1024, "client_failures": client["failures"],
                    "cpu_s": client["cpu_s"], "cpu_ms_per_request": 1000 * client["cpu_s"] / (channels * per_channel)}


def run_daemon(folder: Path, channels: int, per_channel: int, timeout: float) -> dict[str, Any]:
    db = folder / "fanout.db"
    fill_s = fill_store(db, channels, per_channel, datetime.now(UTC) + timedelta(days=1))
    expected = channels * per_channel
    with fake_server(folder / "daemon.jsonl", latency_ms=LATENCY_MS, rate_limit=RATE_LIMIT) as server:
        due_dt = (datetime.now(UTC) + timedelta(seconds=START_LEAD_S)).replace(microsecond=0)
        set_due(db, due_dt)
        daemon = start_daemon(db, channels, server.base, folder / "daemon.log")
        try:
            time.sleep(max(0.0, due_dt.timestamp() - time.time() - 1.0))
            idle_rss = proc_status(daemon.pid).get("VmRSS", 0) / 1024
            cpu_before = cpu_seconds(daemon.pid)
            finished = server.wait_for(expected, timeout, alive=[daemon])
            peak = proc_status(daemon.pid).get("VmHWM", 0) / 1024
            cpu_used = cpu_seconds(daemon.pid) - cpu_before if daemon.poll() is None else None
        finally:
            stop(daemon)
        records, stats = server.records()
    found = analyse(records, stats, due_dt.timestamp(), expected)
    import sqlite3
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())
    log_tail = (folder / "daemon.log").read_text(errors="replace").splitlines()
    errors = [line for line in log_tail if " ERROR " in line or "Traceback" in line][:5]
    warnings = [line for line in log_tail if " WARNING " in line]
    return found | {"log_warning_lines": len(warnings), "log_warning_sample": warnings[:2],
                    "finished": finished, "peak_rss_mb": peak, "rss_before_due_mb": idle_rss,
                    "daemon_cpu_s": cpu_used, "states": states, "fill_with_add_post_s": round(fill_s, 1),
                    "cpu_ms_per_delivery": 1000 * cpu_used / expected if cpu_used is not None else None,
                    "log_errors": errors, "exit_code": daemon.returncode, "load_average": os.getloadavg()}


def run(quick: bool) -> Result:
    channels, per_channel = (500, 4) if quick else (1000, 10)
    folder = Path(tempfile.mkdtemp(prefix="postbot-bench-fanout-"))
    try:
        sharded = run_floor(folder, channels, per_channel, "httpx-sharded")
        per_worker = run_floor(folder, channels, per_channel, "httpx-per-worker")
        raw = run_floor(folder, channels, per_channel, "raw")
        daemon = run_daemon(folder, channels, per_channel, timeout=120 if quick else 400)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total = channels * per_channel
    result = Result("fanout", details={"deliveries": total, "channels": channels, "latency_ms": LATENCY_MS,
                                       "rate_limit_per_channel": RATE_LIMIT, "concurrency": CONCURRENCY,
                                       "floor_httpx_sharded": rounded(sharded),
                                       "floor_httpx_per_worker": rounded(per_worker),
                                       "floor_raw_asyncio": rounded(raw), "daemon": rounded(daemon)})
    # The floor is the faster of the bare httpx loops: the daemon may pool connections either way.
    best = min((sharded, per_worker), key=lambda f: f["makespan_s"] or float("inf"))
    best_label = "bare httpx, " + ("8 clients" if best is sharded else "a client per worker")
    makespan, floor_makespan = daemon["makespan_s"], best["makespan_s"]
    complete = daemon["answered_ok"] >= total
    why_slow = ""
    if daemon.get("log_warning_lines"):
        why_slow = f"{daemon['log_warning_lines']} warnings in the daemon's log; "
    if daemon.get("daemon_cpu_s") and makespan:
        busy = daemon["daemon_cpu_s"] / makespan
        if busy > 0.8:
            why_slow += f"daemon CPU-bound ({daemon['daemon_cpu_s']:.0f} s CPU in {makespan:.0f} s)"
    load = daemon["load_average"][0]
    if load > 2 and not why_slow:
        why_slow = f"load average {load:.1f} on {os.cpu_count()} cores during the run"
    if not complete:
        why_slow = f"only {daemon['answered_ok']}/{total} sent before the timeout " + why_slow
    ratio = makespan / floor_makespan if makespan and floor_makespan else None
    p99_ratio = daemon["lateness_p99_s"] / best["lateness_p99_s"] if best["lateness_p99_s"] else None
    cpu_ms = daemon.get("cpu_ms_per_delivery")
    result.rows += [
        Row(f"time until the last of {total:,} is sent (daemon)", makespan, "s", baseline=floor_makespan,
            baseline_label=f"{best_label}, {CONCURRENCY} at once"),
        Row(f"daemon / floor ({best_label})", ratio, "x", target=RATIO_TARGET, why=why_slow),
        Row("lateness p99 (received - due)", daemon["lateness_p99_s"], "s", baseline=best["lateness_p99_s"],
            baseline_label="floor p99"),
        Row("lateness p99, daemon / floor", p99_ratio, "x", target=RATIO_TARGET, why=why_slow),
        Row("daemon CPU per delivery", cpu_ms, "ms", baseline=best["cpu_ms_per_request"],
            baseline_label=f"{best_label}, CPU per request", target=CPU_TARGET_MS,
            why="" if cpu_ms is None or cpu_ms <= CPU_TARGET_MS else
            f"HTTP (httpx, httpcore, h11) is {best['cpu_ms_per_request']:.2f} ms of it in the floor"),
        Row("floor: bare httpx, 8 clients (channels spread by hash)", sharded["makespan_s"], "s",
            baseline=per_worker["makespan_s"], baseline_label="bare httpx, a client of one connection per worker",
            why=f"CPU per request {sharded['cpu_ms_per_request']:.2f} ms against "
                f"{per_worker['cpu_ms_per_request']:.2f} ms: httpcore's pool works per connection on every request"),
        Row("floor with raw asyncio HTTP/1.1 (no HTTP library)", raw["makespan_s"], "s",
            baseline=total * LATENCY_MS / 1000 / CONCURRENCY, baseline_label=f"{total:,} x {LATENCY_MS} ms / {CONCURRENCY}",
            why=f"CPU per request {raw['cpu_ms_per_request']:.2f} ms"),
        Row("lateness p50 (received - due)", daemon["lateness_p50_s"], "s", baseline=best["lateness_p50_s"],
            baseline_label="floor p50"),
        Row("lateness p95", daemon["lateness_p95_s"], "s", baseline=best["lateness_p95_s"], baseline_label="floor p95"),
        Row("daemon peak RSS (VmHWM)", daemon["peak_rss_mb"], "MB", baseline=best["peak_rss_mb"],
            baseline_label="floor client VmHWM", target=RSS_TARGET_MB),
        Row("per-channel order kept, no overlap, no send during Retry-After, no duplicate",
            float(daemon["out_of_order"] + (daemon["overlaps"] or 0) + (daemon["sent_during_retry_after"] or 0)
                  + daemon["duplicates"] + (total - daemon["answered_ok"])), "violations", target=0.0,
            why=f"out of order {daemon['out_of_order']}, overlaps {daemon['overlaps']}, during Retry-After "
                f"{daemon['sent_during_retry_after']}, duplicates {daemon['duplicates']}, missing "
                f"{total - daemon['answered_ok']}, 429s {daemon['rate_limited_429']}"),
    ]
    return result
