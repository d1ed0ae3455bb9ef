"""5. Idle daemon: CPU and memory of `python -m postbot run` over a quiet minute, with 10,000
deliveries (1,000 webhook channels) scheduled for tomorrow, against an idle `python` process
(`time.sleep`) measured over the same window."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import Result, Row, cpu_seconds, proc_status, stop
from benchmarks.daemon_setup import fill_store, start_daemon

UTC = timezone.utc
CPU_TARGET_PERCENT = 0.5
RSS_TARGET_MB = 80.0
WARM_UP_S = 5.0


def run(quick: bool) -> Result:
    window = 15.0 if quick else 60.0
    channels, per_channel = 1000, 10
    folder = Path(tempfile.mkdtemp(prefix="postbot-bench-idle-"))
    try:
        db = folder / "idle.db"
        fill_store(db, channels, per_channel, datetime.now(UTC) + timedelta(days=1))
        # Nothing is due, so nothing is sent: the URLs point at a closed port on purpose.
        daemon = start_daemon(db, channels, "http://127.0.0.1:9", folder / "daemon.log")
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(100000)"])
        try:
            time.sleep(WARM_UP_S)
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited ({daemon.returncode}): "
                                   f"{(folder / 'daemon.log').read_text(errors='replace')[-500:]}")
            started = time.monotonic()
            daemon_cpu, sleeper_cpu = cpu_seconds(daemon.pid), cpu_seconds(sleeper.pid)
            samples = []
            while time.monotonic() - started < window:
                time.sleep(1.0)
                samples.append(proc_status(daemon.pid).get("VmRSS", 0) / 1024)
            elapsed = time.monotonic() - started
            daemon_used = cpu_seconds(daemon.pid) - daemon_cpu
            sleeper_used = cpu_seconds(sleeper.pid) - sleeper_cpu
            daemon_status, sleeper_status = proc_status(daemon.pid), proc_status(sleeper.pid)
        finally:
            stop(daemon)
            stop(sleeper)
        log = (folder / "daemon.log").read_text(errors="replace").splitlines()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cpu_percent = 100 * daemon_used / elapsed
    rss = daemon_status.get("VmRSS", 0) / 1024
    result = Result("idle")
    result.rows += [
        Row(f"idle daemon CPU over {window:.0f} s (10,000 due tomorrow)", cpu_percent, "%",
            baseline=100 * sleeper_used / elapsed, baseline_label="python time.sleep", target=CPU_TARGET_PERCENT),
        Row("idle daemon RSS", rss, "MB", baseline=sleeper_status.get("VmRSS", 0) / 1024,
            baseline_label="python time.sleep", target=RSS_TARGET_MB),
    ]
    result.details = {"window_s": round(elapsed, 1), "daemon_cpu_s": round(daemon_used, 3),
                      "rss_samples_mb": [round(v, 1) for v in samples[::5]],
                      "daemon_peak_rss_mb": round(daemon_status.get("VmHWM", 0) / 1024, 1),
                      "log_lines": len(log), "log_sample": log[:3]}
    return result
