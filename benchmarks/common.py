"""What every benchmark shares: result rows, process readings from /proc, the fake server, the machine."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the table: a measured value, what it is compared with, and the target."""

    measure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: float | None = None
    higher_is_better: bool = False
    why: str = ""                      # cause of a miss, or a note
    skipped: str = ""                  # "not run: ..." instead of a value

    @property
    def met(self) -> bool | None:
        if self.skipped or self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def verdict(self) -> str:
        if self.skipped:
            return self.skipped
        if self.met is None:
            return "info" + (f": {self.why}" if self.why else "")
        if self.met:
            return "met"
        if self.higher_is_better:
            off = self.target / self.value if self.value else 0
        else:
            off = self.value / self.target if self.target else 0
        gap = abs(self.value - self.target)
        text = f"MISSED by {fmt(gap, self.unit)} ({off:.2f}x)" if off else f"MISSED by {fmt(gap, self.unit)}"
        return text + (f": {self.why}" if self.why else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"met": self.met}


@dataclass
class Result:
    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"rows": [r.to_json() for r in self.rows], "details": self.details, "seconds": round(self.seconds, 1)}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"
    if unit in ("MB", "%"):
        return f"{value:.1f} {unit}" if unit == "MB" else f"{value:.2f} %"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:,.0f} {unit}".strip()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rounded(found: dict[str, Any]) -> dict[str, Any]:
    """A result's floats, alone or in a list, to 3 decimals: the details JSON stays readable."""
    def one(value: Any) -> Any:
        return round(value, 3) if isinstance(value, float) else value

    return {k: [one(v) for v in value] if isinstance(value, list) else one(value) for k, value in found.items()}


# ---- processes ------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and friends in kB, from /proc/<pid>/status."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name.startswith("Vm"):
                    found[name] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its own, not its children's)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child Python: this checkout importable, no stray postbot settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTBOT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra or {})
    return env


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- the fake platform ----------------------------------------------------------------------

@dataclass
class FakeServer:
    process: subprocess.Popen
    port: int
    record: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/_stats", timeout=5) as answer:
            return json.load(answer)

    def wait_for(self, ok_count: int, timeout: float, alive: Sequence[subprocess.Popen] = ()) -> bool:
        """Wait until `ok_count` requests were answered 200; False on timeout or if one of `alive` died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()["statuses"].get("200", 0) >= ok_count:
                return True
            if any(process.poll() is not None for process in alive):
                return False
            time.sleep(0.1)
        return False

    def records(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Stop the server and read what it recorded."""
        stop(self.process)
        rows, stats = [], {}
        for line in self.record.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if "stats" in item:
                stats = item["stats"]
            else:
                rows.append(item)
        return rows, stats


@contextmanager
def fake_server(record: Path, *, latency_ms: float = 0, error_rate: float = 0,
                rate_limit: str | None = None) -> Iterator[FakeServer]:
    command = [sys.executable, "-m", "benchmarks.fake_platform", "--latency-ms", str(latency_ms),
               "--error-rate", str(error_rate), "--record", str(record)]
    if rate_limit:
        command += ["--rate-limit", rate_limit]
    process = subprocess.Popen(command, cwd=REPO, env=python_env(), stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().split()     # type: ignore[union-attr]
        if len(line) != 3 or line[0] != "listening":
            raise RuntimeError(f"the fake platform did not start (said {' '.join(line)!r})")
        yield FakeServer(process, int(line[2]), record)
    finally:
        stop(process)


# ---- the machine ----------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    import sqlite3
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "kernel": platform.release()}
