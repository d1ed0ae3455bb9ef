"""A loopback platform for benchmarks: minimal HTTP/1.1 with keep-alive on stdlib asyncio.

It runs in its own process (so its CPU is not the measured process's) and answers every POST
after --latency-ms, with 503 for a --error-rate share of requests and 429 + Retry-After when a
path (one channel) goes over --rate-limit N/SECONDS in any sliding window. Each request is
recorded (path, receive time, answer time, Idempotency-Key, status, the body's due_at) and the
records are written as JSON lines to --record when the process gets SIGTERM or SIGINT.

While it runs, `GET /_stats` answers counters as JSON, so a harness can wait for N answers.

    python -m benchmarks.fake_platform --latency-ms 100 --rate-limit 2/1 --record out.jsonl

The first line on stdout is `listening <host> <port>`.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import random
import re
import resource
import signal
import sys
import time
from dataclasses import dataclass, field

_DUE_AT = re.compile(rb'"due_at"\s*:\s*"([^"]*)"')
_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable"}


@dataclass
class Settings:
    latency: float = 0.0
    error_rate: float = 0.0
    limit: int | None = None
    window: float = 1.0


@dataclass
class Platform:
    settings: Settings
    rng: random.Random = field(default_factory=random.Random)
    records: list[tuple] = field(default_factory=list)
    accepted: dict[str, collections.deque] = field(default_factory=lambda: collections.defaultdict(collections.deque))
    hold_until: dict[str, float] = field(default_factory=dict)
    in_flight: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    overlaps: int = 0
    hold_violations: int = 0
    connections: int = 0
    peak_connections: int = 0

    def admit(self, path: str, now: float) -> tuple[int, dict[str, str]]:
        """The status this request gets by the rate limit alone (200 or 429), checked on arrival."""
        if now < self.hold_until.get(path, 0.0):
            self.hold_violations += 1          # the client was told to wait and did not
        if self.settings.limit is None:
            return 200, {}
        recent = self.accepted[path]
        while recent and recent[0] <= now - self.settings.window:
            recent.popleft()
        if len(recent) >= self.settings.limit:
            until = recent[0] + self.settings.window
            self.hold_until[path] = max(self.hold_until.get(path, 0.0), until)
            return 429, {"Retry-After": str(max(1, math.ceil(until - now)))}
        recent.append(now)
        return 200, {}

    async def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        received = time.time()
        if self.in_flight[path]:
            self.overlaps += 1                 # one channel's messages must never overlap
        self.in_flight[path] += 1
        try:
            status, extra = self.admit(path, received)
            if self.settings.latency:
                await asyncio.sleep(self.settings.latency)
            if status == 200 and self.settings.error_rate and self.rng.random() < self.settings.error_rate:
                status = 503
        finally:
            self.in_flight[path] -= 1
        key = headers.get("idempotency-key", "")
        due = _DUE_AT.search(body)
        self.statuses[status] += 1
        self.records.append((path, received, time.time(), key, status, due.group(1).decode() if due else None))
        answer = {"id": key or str(len(self.records))} if status == 200 else {"error": _REASONS[status]}
        return status, extra, json.dumps(answer).encode()

    def stats(self) -> dict:
        return {"requests": len(self.records), "statuses": {str(k): v for k, v in self.statuses.items()},
                "overlaps": self.overlaps, "hold_violations": self.hold_violations,
                "connections": self.connections, "peak_connections": self.peak_connections}

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            for path_, received, sent, key, status, due in self.records:
                out.write(json.dumps({"path": path_, "received": received, "sent": sent, "key": key,
                                      "status": status, "due_at": due}) + "\n")
            out.write(json.dumps({"stats": self.stats()}) + "\n")


async def _serve_connection(platform: Platform, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    platform.connections += 1
    platform.peak_connections = max(platform.peak_connections, platform.connections)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = (lines[0].split(" ", 2) + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            if method == "GET" and path == "/_stats":
                status, extra, payload = 200, {}, json.dumps(platform.stats()).encode()
            elif method == "POST":
                status, extra, payload = await platform.answer(path, headers, body)
            else:
                status, extra, payload = 404, {}, b'{"error":"POST only"}'
            close = headers.get("connection", "").lower() == "close"
            response = [f"HTTP/1.1 {status} {_REASONS[status]}", "Content-Type: application/json",
                        f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in extra.items())]
            if close:
                response.append("Connection: close")
            writer.write(("\r\n".join(response) + "\r\n\r\n").encode() + payload)
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        platform.connections -= 1
        writer.close()


def _raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def parse_rate_limit(text: str | None) -> tuple[int | None, float]:
    if not text:
        return None, 1.0
    count, _, seconds = text.partition("/")
    try:
        return int(count), float(seconds or 1)
    except ValueError:
        raise SystemExit(f"--rate-limit {text!r}: write N/SECONDS, e.g. 2/1 for two requests per second") from None


async def serve(args: argparse.Namespace) -> None:
    limit, window = parse_rate_limit(args.rate_limit)
    platform = Platform(Settings(args.latency_ms / 1000, args.error_rate, limit, window), random.Random(args.seed))
    server = await asyncio.start_server(lambda r, w: _serve_connection(platform, r, w), args.host, args.port,
                                        backlog=8192, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {args.host} {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    if args.record:
        platform.write(args.record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fake_platform", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="wait this long before every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 503 (0..1)")
    parser.add_argument("--rate-limit", metavar="N/SECONDS", help="per path: at most N requests in any window")
    parser.add_argument("--record", metavar="FILE", help="write one JSON line per request here on exit")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 <= args.error_rate <= 1:
        parser.error("--error-rate must be between 0 and 1")
    _raise_open_files_limit()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
