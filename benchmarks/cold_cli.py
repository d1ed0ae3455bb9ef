"""1. Cold CLI: `postbot preview <the example post>` for every channel, `postbot --help` and
`postbot list` as fresh processes, each against `python -c pass` (the interpreter's own start-up)
timed the same way, in alternating pairs so a drift in the machine's speed hits both alike."""
from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.common import REPO, Result, Row, median, python_env

POST = "posts/hip-thrust-alternatives.md"
# Targets as multiples of `python -c pass` measured in the same run (issue 14).
TARGET_RATIOS = {"preview": 4.0, "help": 3.0, "list": 3.0}
# What `postbot preview` of a Markdown post with a local image needs: front matter, Markdown, the
# templates, the image check, and `regex` for graphemes and X's URL scan.
PREVIEW_NEEDS = ("yaml", "markdown_it", "jinja2", "PIL.Image", "regex")
# Modules the preview path should not need at start-up (see the project's lazy-import rule).
HEAVY = ("httpx", "yaml", "ftfy", "budoux", "oauthlib", "markdown_it", "regex", "jinja2", "apscheduler",
         "psycopg", "dotenv", "wcwidth", "publicsuffixlist", "certifi", "asyncio", "PIL", "starlette",
         "uvicorn", "feedparser", "markdownify", "w3lib", "ipaddress")


def _postbot_command() -> list[str]:
    script = shutil.which("postbot")
    return [script] if script else [sys.executable, "-m", "postbot"]


def cold_env(workdir: str) -> dict[str, str]:
    """A child's environment as an installed postbot sees it: bytecode written and reused (pip
    compiles it at install), no stray settings, the store in a scratch folder."""
    env = python_env({"POSTBOT_DATABASE_URL": f"sqlite:///{workdir}/bench.db", "POSTBOT_TIMEZONE": "UTC"})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _one(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run; cpu is the child's user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _paired_runs(command: list[str], baseline: list[str], runs: int, env: dict[str, str],
                 warmup: int = 2) -> dict[str, list[float]]:
    """command and baseline in turn, A B A B ..., after warm-ups (which also write the bytecode)."""
    out: dict[str, list[float]] = {"wall": [], "cpu": [], "base_wall": [], "base_cpu": []}
    for index in range(warmup + runs):
        wall, cpu = _one(command, env)
        base_wall, base_cpu = _one(baseline, env)
        if index >= warmup:
            for key, value in zip(out, (wall, cpu, base_wall, base_cpu)):
                out[key].append(value)
    return out


def import_profile(arguments: list[str], env: dict[str, str] | None = None) -> dict:
    """Which top-level imports the command pays for, from `python -X importtime` (microseconds)."""
    argv = [sys.executable, "-X", "importtime", "-m", "postbot", *arguments]
    done = subprocess.run(argv, cwd=REPO, env=env or python_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
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
    runs = 7 if quick else 15
    bare = [sys.executable, "-c", "pass"]
    result = Result("cold_cli")
    details: dict = {"runs": runs, "method": "alternating pairs with `python -c pass` after 2 warm-ups; "
                                            "ratio = median of the per-pair wall-time ratios"}
    with tempfile.TemporaryDirectory(prefix="postbot-bench-") as workdir:
        env = cold_env(workdir)
        # The floor under the preview: the libraries it cannot render without, imported alone.
        floor = [sys.executable, "-c", "import " + ", ".join(PREVIEW_NEEDS)]
        timed = _paired_runs(floor, bare, runs, env)
        floor_ratio = median([a / b for a, b in zip(timed["wall"], timed["base_wall"])])
        floor_cpu = median([a / b for a, b in zip(timed["cpu"], timed["base_cpu"]) if b > 0])
        details["floor"] = {"command": " ".join(floor[1:]), "wall_ratio_median": round(floor_ratio, 2),
                            "cpu_ratio_median": round(floor_cpu, 2)}
        for name, arguments in (("preview", ["preview", POST]), ("help", ["--help"]), ("list", ["list"])):
            timed = _paired_runs([*_postbot_command(), *arguments], bare, runs, env)
            ratios = [a / b for a, b in zip(timed["wall"], timed["base_wall"])]
            cpu_ratios = [a / b for a, b in zip(timed["cpu"], timed["base_cpu"]) if b > 0]
            entry = {"command": "postbot " + " ".join(arguments),
                     "seconds": [round(t, 4) for t in timed["wall"]],
                     "python_pass_seconds": [round(t, 4) for t in timed["base_wall"]],
                     "wall_ratio_median": round(median(ratios), 2),
                     "cpu_ratio_median": round(median(cpu_ratios), 2),
                     "cpu_seconds_median": round(median(timed["cpu"]), 4),
                     "python_pass_cpu_seconds_median": round(median(timed["base_cpu"]), 4)}
            entry |= import_profile(arguments, env)
            details[name] = entry
            target = TARGET_RATIOS[name]
            ratio = median(ratios)
            why = ""
            if ratio > target:
                heavy = ", ".join(entry["heavy_modules_loaded"]) or "none"
                top = ", ".join(f"{m} {ms:.0f} ms" for m, ms in list(entry["top_imports_ms"].items())[:4])
                why = (f"imports take {entry['import_ms_total']:.0f} ms (top: {top}; heavy modules loaded: "
                       f"{heavy}); the rest is rendering work, see details")
                if name == "preview":
                    why = (f"the libraries a preview needs take {floor_ratio:.2f}x alone (floor row), leaving "
                           f"{target - floor_ratio:.2f}x for postbot's modules, reading the post and ten first "
                           f"renders (their regex compiles); " + why)
            label = "`postbot preview` (10 channels)" if name == "preview" else f"`{entry['command']}`"
            result.rows.append(Row(f"cold {label} / `python -c pass`, median of {runs} pairs", ratio, "x",
                                   target=target, why=why))
            result.rows.append(Row(f"cold {label}, median", median(timed["wall"]), "s",
                                   baseline=median(timed["base_wall"]), baseline_label="python -c pass",
                                   why=f"CPU {entry['cpu_ratio_median']:.2f}x python -c pass"))
        result.rows.append(Row(f"floor: `{floor[-1]}` alone / `python -c pass`", floor_ratio, "x",
                               why=f"CPU {floor_cpu:.2f}x; what any preview pays before postbot's own code"))
        details["preview"] |= work_profile()
    result.details = details
    return result
