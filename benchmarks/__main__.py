"""python -m benchmarks [--quick] [--only NAME ...] [--no-postgres] [--out FILE]

Runs cold_cli, render, long_words, dashboard, queue, fanout, daemons, idle and containers (in that order), prints one table and writes
the figures, the machine and the details to benchmarks/results/latest.json."""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import REPO, Result, Row, fmt, machine

NAMES = ("cold_cli", "render", "long_words", "dashboard", "queue", "fanout", "daemons", "idle", "containers")


def _run_one(name: str, quick: bool, postgres) -> Result:
    if name == "cold_cli":
        from benchmarks import cold_cli
        return cold_cli.run(quick)
    if name == "render":
        from benchmarks import rendering
        return rendering.run(quick)
    if name == "long_words":
        from benchmarks import long_words
        return long_words.run(quick)
    if name == "dashboard":
        from benchmarks import dashboard
        return dashboard.run(quick)
    if name == "queue":
        from benchmarks import queue_scale
        return queue_scale.run(quick, postgres)
    if name == "fanout":
        from benchmarks import fanout
        return fanout.run(quick)
    if name == "daemons":
        from benchmarks import daemons
        return daemons.run(quick, postgres)
    if name == "containers":
        from benchmarks import containers
        return containers.run(quick)
    from benchmarks import idle
    return idle.run(quick)


def table(results: list[Result]) -> str:
    header = ("benchmark", "measure", "value", "baseline", "target", "verdict")
    lines = []
    for result in results:
        for row in result.rows:
            target = "-" if row.target is None else ("≥ " if row.higher_is_better else "≤ ") + fmt(row.target, row.unit)
            baseline = "-" if row.baseline is None else f"{fmt(row.baseline, row.unit)} ({row.baseline_label})"
            lines.append((result.name, row.measure, "-" if row.skipped else fmt(row.value, row.unit), baseline,
                          target, row.verdict()))
    widths = [min(74 if i == 1 else 60, max(len(str(line[i])) for line in [header, *lines])) for i in range(5)]
    out = []
    for line in [header, *lines]:
        cells = [str(cell)[:widths[i]].ljust(widths[i]) for i, cell in enumerate(line[:5])]
        out.append("  ".join(cells) + "  " + line[5])
    out.insert(1, "-" * (sum(widths) + 2 * 5 + 7))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter windows (about 3 minutes)")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip PostgreSQL (the queue's second half, daemons) even if POSTBOT_TEST_POSTGRES_URL "
                             "is set or a server is installed")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)
    names = [n for n in NAMES if not args.only or n in args.only]

    results: list[Result] = []
    report = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
              "machine": machine(), "benchmarks": {}}
    with ExitStack() as stack:
        postgres = (None, "no PostgreSQL (--no-postgres)")
        if {"queue", "daemons"} & set(names) and not args.no_postgres:
            from benchmarks.postgres import postgres_url, server_facts
            postgres = stack.enter_context(postgres_url())
            if postgres[0]:
                try:
                    report["machine"]["postgresql"] = server_facts(postgres[0])["server_version"]
                except Exception as exc:          # unreachable server: the queue benchmark says so
                    postgres = (None, f"no PostgreSQL ({type(exc).__name__}: {exc})")
        for name in names:
            print(f"== {name} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                result = _run_one(name, args.quick, postgres)
            except Exception as exc:
                traceback.print_exc()
                result = Result(name, rows=[Row(name, None, "", skipped=f"FAILED: {type(exc).__name__}: {exc}")])
            result.seconds = time.perf_counter() - started
            print(f"   {name}: {result.seconds:.0f} s", file=sys.stderr, flush=True)
            results.append(result)
            report["benchmarks"][name] = result.to_json() | {
                "ran_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick}
    report["total_seconds"] = round(sum(r.seconds for r in results), 1)
    if args.only and args.out.exists():
        # A partial run updates its entries and keeps the others (each says when it ran).
        try:
            previous = json.loads(args.out.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
        kept = {name: {"ran_at": previous.get("started_at"), "quick": previous.get("quick")} | entry
                for name, entry in previous.get("benchmarks", {}).items() if name not in names}
        report["benchmarks"] = kept | report["benchmarks"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\n{report['total_seconds']:.0f} s in all; results in {args.out}")
    failed = any(r.skipped.startswith("FAILED") for result in results for r in result.rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
