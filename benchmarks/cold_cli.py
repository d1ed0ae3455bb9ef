"""1. Cold CLI: `postbot preview <the example post>` for every channel as a fresh process,
against `python -c pass` (the interpreter's own start-up) timed the same way."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

from benchmarks.common import REPO, Result, Row, median, python_env

POST = "posts/hip-thrust-alternatives.md"
TARGET_SECONDS = 0.35
# Modules the preview path should not need at start-up (see the project's lazy-import rule).
HEAVY = ("httpx", "yaml", "ftfy", "budoux", "oauthlib", "markdown_it", "regex", "jinja2", "apscheduler",
         "psycopg", "dotenv", "wcwidth", "publicsuffixlist", "certifi")


def _postbot_command() -> list[str]:
    script = shutil.which("postbot")
    return [script] if script else [sys.executable, "-m", "postbot"]


def _time_runs(command: list[str], runs: int, warmup: int = 2) -> list[float]:
    env = python_env()
    times = []
    for index in range(warmup + runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - started
        if done.returncode not in (0,):
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
        if index >= warmup:
            times.append(elapsed)
    return times


def import_profile(command: list[str]) -> dict:
    """Which top-level imports the command pays for, from `python -X importtime` (microseconds)."""
    argv = [sys.executable, "-X", "importtime", "-m", "postbot", *command[-2:]]
    done = subprocess.run(argv, cwd=REPO, env=python_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    top: list[tuple[str, int]] = []
    loaded = set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if not cumulative.strip().isdigit():
            continue
        bare = name.rstrip()
        loaded.add(bare.strip().split(".")[0])
        if not bare.startswith("  "):          # a top-level import: its cumulative time is what it costs
            top.append((bare.strip(), int(cumulative)))
    top.sort(key=lambda item: -item[1])
    total = sum(us for _, us in top)
    return {"import_ms_total": round(total / 1000, 1),
            "top_imports_ms": {name: round(us / 1000, 1) for name, us in top[:12]},
            "heavy_modules_loaded": sorted(m for m in HEAVY if m in loaded)}


def work_profile() -> dict:
    """Where the preview spends its time once imported: cProfile of cli.main in a fresh process."""
    code = (
        "import cProfile, pstats, sys, io\n"
        "sys.argv = ['postbot', 'preview', %r]\n"
        "from postbot.cli import main\n"
        "profile = cProfile.Profile()\n"
        "import contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    profile.runcall(main)\n"
        "stats = pstats.Stats(profile)\n"
        "rows = [(f'{k[0].rsplit(\"/\", 2)[-2]}/{k[0].rsplit(\"/\", 1)[-1]}:{k[2]}', v[3]) "
        "for k, v in stats.stats.items() if '/postbot/' in k[0]]\n"
        "rows.sort(key=lambda r: -r[1])\n"
        "import json; print(json.dumps([(n, round(t * 1000, 1)) for n, t in rows[:12]]))\n" % POST)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=python_env(), capture_output=True, text=True)
    import json
    try:
        return {"postbot_functions_cumulative_ms (profiled, inflated)": dict(json.loads(done.stdout.strip()))}
    except ValueError:
        return {"profile_error": done.stderr[-400:]}


def run(quick: bool) -> Result:
    runs = 5 if quick else 15
    command = [*_postbot_command(), "preview", POST]
    preview = _time_runs(command, runs)
    bare = _time_runs([sys.executable, "-c", "pass"], runs)
    result = Result("cold_cli")
    details = {"command": " ".join(["postbot" if "postbot" in command[0] else command[0], *command[1:]]),
               "runs": runs, "preview_seconds": [round(t, 4) for t in preview],
               "python_pass_seconds": [round(t, 4) for t in bare]}
    details |= import_profile(command)
    details |= work_profile()
    value = median(preview)
    why = ""
    if value > TARGET_SECONDS:
        heavy = ", ".join(details["heavy_modules_loaded"]) or "none"
        why = (f"imports take {details['import_ms_total']:.0f} ms (heavy modules loaded: {heavy}); "
               f"the rest is rendering work, see details")
    result.rows.append(Row(f"cold `postbot preview` (10 channels), median of {runs}", value, "s",
                           baseline=median(bare), baseline_label="python -c pass", target=TARGET_SECONDS,
                           why=why))
    result.details = details
    return result
