"""4. Fan-out: 10,000 deliveries across 1,000 webhook channels, all due at the same second, the fake
platform answering after 100 ms, sent by the real daemon process (`python -m postbot run`).
Compared with a bare asyncio + httpx loop sending the same requests at the same concurrency
(benchmarks.floor_client), against a fresh fake server with the same settings."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Result, Row, cpu_seconds, fake_server, percentile, proc_status, python_env, stop
from benchmarks.daemon_setup import fill_store, set_due, start_daemon

UTC = timezone.utc
LATENCY_MS = 100
RATE_LIMIT = "3/1"          # per channel: a burst guard no sender at this concurrency needs to exceed
CONCURRENCY = 64            # postbot's default POSTBOT_CONCURRENCY, used for the floor too
RATIO_TARGET = 1.5
P99_TARGET_S = 5.0
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
    return found | {"peak_rss_mb": client["vmhwm_kb"] / 1024, "client_failures": client["failures"]}


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
            finished = server.wait_for(expected, timeout, alive=daemon)
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
                    "log_errors": errors, "exit_code": daemon.returncode}


def run(quick: bool) -> Result:
    channels, per_channel = (500, 4) if quick else (1000, 10)
    folder = Path(tempfile.mkdtemp(prefix="postbot-bench-fanout-"))
    try:
        floor = run_floor(folder, channels, per_channel)
        sharded = run_floor(folder, channels, per_channel, "httpx-sharded")
        raw = run_floor(folder, channels, per_channel, "raw")
        daemon = run_daemon(folder, channels, per_channel, timeout=120 if quick else 400)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total = channels * per_channel
    result = Result("fanout", details={"deliveries": total, "channels": channels, "latency_ms": LATENCY_MS,
                                       "rate_limit_per_channel": RATE_LIMIT, "concurrency": CONCURRENCY,
                                       "floor": _rounded(floor), "floor_httpx_sharded": _rounded(sharded),
                                       "floor_raw_asyncio": _rounded(raw), "daemon": _rounded(daemon)})
    makespan = daemon["makespan_s"]
    # The floor is the faster of the two bare httpx loops: the daemon may pool connections either way.
    best = min((floor, sharded), key=lambda f: f["makespan_s"] or float("inf"))
    floor_makespan = best["makespan_s"]
    best_label = "one shared client" if best is floor else "8 clients"
    complete = daemon["answered_ok"] >= total
    why_slow = ""
    if daemon.get("log_warning_lines"):
        why_slow = f"{daemon['log_warning_lines']} APScheduler 'skipped' warnings in the log; "
    if daemon.get("daemon_cpu_s") and makespan:
        busy = daemon["daemon_cpu_s"] / makespan
        if busy > 0.8:
            why_slow += f"daemon CPU-bound ({daemon['daemon_cpu_s']:.0f} s CPU in {makespan:.0f} s)"
    if not complete:
        why_slow = f"only {daemon['answered_ok']}/{total} sent before the timeout " + why_slow
    ratio = makespan / floor_makespan if makespan and floor_makespan else None
    result.rows += [
        Row(f"time until the last of {total:,} is sent (daemon)", makespan, "s", baseline=floor_makespan,
            baseline_label=f"bare httpx loop, {best_label}, {CONCURRENCY} at once", why=why_slow),
        Row(f"daemon / floor (bare httpx loop, {best_label})", ratio, "x", target=RATIO_TARGET, why=why_slow),
        Row("floor: bare httpx loop, 8 clients (channels spread by hash)", sharded["makespan_s"], "s",
            baseline=floor["makespan_s"], baseline_label="bare httpx loop, one shared client",
            why="httpcore's pool does O(connections) work per request: smaller pools, less CPU"),
        Row("floor with raw asyncio HTTP/1.1 (no HTTP library)", raw["makespan_s"], "s",
            baseline=total * LATENCY_MS / 1000 / CONCURRENCY, baseline_label=f"{total:,} x {LATENCY_MS} ms / {CONCURRENCY}"),
        Row("lateness p50 (received - due)", daemon["lateness_p50_s"], "s", baseline=best["lateness_p50_s"],
            baseline_label="floor p50"),
        Row("lateness p95", daemon["lateness_p95_s"], "s", baseline=best["lateness_p95_s"], baseline_label="floor p95"),
        Row("lateness p99", daemon["lateness_p99_s"], "s", baseline=best["lateness_p99_s"], baseline_label="floor p99",
            target=P99_TARGET_S, why=why_slow if daemon["lateness_p99_s"] > P99_TARGET_S and best["lateness_p99_s"] <= P99_TARGET_S
            else (f"the httpx floor itself is at p99 {best['lateness_p99_s']:.1f} s; even a perfect sender needs "
                  f"{total:,} x {LATENCY_MS} ms / {CONCURRENCY} = {total * LATENCY_MS / 1000 / CONCURRENCY:.1f} s"
                  if floor["lateness_p99_s"] > P99_TARGET_S else "")),
        Row("daemon peak RSS (VmHWM)", daemon["peak_rss_mb"], "MB", baseline=floor["peak_rss_mb"],
            baseline_label="floor client VmHWM", target=RSS_TARGET_MB),
        Row("per-channel order kept, no overlap, no send during Retry-After, no duplicate",
            float(daemon["out_of_order"] + (daemon["overlaps"] or 0) + (daemon["sent_during_retry_after"] or 0)
                  + daemon["duplicates"]), "violations", target=0.0,
            why=f"out of order {daemon['out_of_order']}, overlaps {daemon['overlaps']}, during Retry-After "
                f"{daemon['sent_during_retry_after']}, duplicates {daemon['duplicates']}, 429s "
                f"{daemon['rate_limited_429']}"),
    ]
    return result


def _rounded(found: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in found.items()}
