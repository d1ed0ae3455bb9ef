"""Where the PostgreSQL benchmarks get a server: POSTBOT_TEST_POSTGRES_URL if set, else a scratch
cluster started here (as the `postgres` user when run as root), else none."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV = "POSTBOT_TEST_POSTGRES_URL"


def _server_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_url(start: bool = True) -> Iterator[tuple[str | None, str]]:
    """Yields (url or None, how it was found / why there is none)."""
    url = os.environ.get(ENV, "").strip()
    if url:
        yield url, f"from {ENV}"
        return
    bin_dir = _server_bin()
    if not start or bin_dir is None:
        yield None, f"no PostgreSQL ({ENV} unset{'' if bin_dir else ', no server installed'})"
        return
    folder = Path(tempfile.mkdtemp(prefix="postbot-bench-pg-"))
    data, port = folder / "data", _free_port()
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, capture_output=True, cwd="/")
        # Durable defaults (fsync on): the figures should be what a real deployment sees.
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder}"
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                                     "-w", "-t", "60", "-o", options, "start"]),
                       check=True, capture_output=True, cwd="/")
        started = True
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "postbot_bench"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _stop(bin_dir, data, started)
        shutil.rmtree(folder, ignore_errors=True)
        yield None, f"no PostgreSQL (could not start a scratch cluster: {detail.decode(errors='replace')[-200:] or exc})"
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postbot_bench", "scratch cluster started by the benchmarks (default settings)"
    finally:
        _stop(bin_dir, data, started)
        time.sleep(0.2)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(bin_dir: Path, data: Path, started: bool) -> None:
    if started:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, cwd="/")


def server_facts(url: str) -> dict[str, str]:
    """Version and the settings that decide commit cost, for the results."""
    import psycopg
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")}
