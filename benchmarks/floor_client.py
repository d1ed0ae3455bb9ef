"""The floors for the fan-out benchmark: bare loops that send the same signed webhook requests at
the same concurrency as the daemon, starting at the same due time, with no store, no claims and no
scheduler. Run by benchmarks.fanout in its own process; prints its peak memory as JSON on exit.

Modes:
  httpx          one shared httpx.AsyncClient (what the daemon uses): the floor the target is set against
  httpx-sharded  8 httpx clients, channels spread over them by hash: smaller pools per client
  httpx-per-worker  one httpx client of one connection per worker: the smallest pools
  raw            asyncio streams speaking HTTP/1.1 by hand, one keep-alive connection per worker:
                 what Python itself can do, without any HTTP library

    python -m benchmarks.floor_client --base http://127.0.0.1:PORT --channels 1000 --per-channel 10 \
        --concurrency 64 --at EPOCH_SECONDS --due-at 2026-01-01T00:00:00Z [--mode httpx]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time


def requests_for(channels: int, per_channel: int, due_at: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """Post-major order, like the daemon's claims (run_at, then id): every channel's first, then seconds."""
    made = []
    for post in range(per_channel):
        for channel in range(channels):
            key = f"fan-p{post}-c{channel}"
            body = json.dumps({"channel": f"c{channel}", "platform": "generic",
                               "post": {"slug": f"p{post}", "title": "bench", "url": None},
                               "text": "x" * 280, "links": [], "due_at": due_at, "part": 1, "parts": 1,
                               "payload": {"text": "x" * 280}}, separators=(",", ":")).encode()
            secret = f"bench-secret-{channel}".encode()
            stamp = int(time.time())      # signed like postbot does: "<t>.<key>.<body>" (docs/webhooks.md)
            digest = hmac.new(secret, f"{stamp}.{key}.".encode() + body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                       "X-Postbot-Signature": f"t={stamp},v1={digest}"}
            made.append((f"/c{channel}", body, headers))
    return made


SHARDS = 8


async def send_all(base: str, work: list, concurrency: int, start_at: float,
                   mode: str = "httpx") -> tuple[int, float]:
    """Returns the failures and the process CPU time at the start."""
    if mode == "raw":
        return await send_all_raw(base, work, concurrency, start_at)
    import httpx
    queue: asyncio.Queue = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    failures = 0
    # httpx: one client for all workers; httpx-sharded: 8, channels spread over them by hash;
    # httpx-per-worker: one client with one connection per worker (what the daemon lends per delivery).
    per_worker = mode == "httpx-per-worker"
    shards = concurrency if per_worker else SHARDS if mode == "httpx-sharded" else 1
    pool = 1 if per_worker else concurrency

    async def worker(clients, own) -> None:
        nonlocal failures
        while not queue.empty():
            path, body, headers = queue.get_nowait()
            client = own or clients[hash(path) % len(clients)]
            try:
                response = await client.post(base + path, content=body, headers=headers)
                failures += response.status_code != 200
            except httpx.HTTPError:
                failures += 1

    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    tls = httpx.create_ssl_context()        # loaded once, as the daemon does, not once per client
    clients = [httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), limits=limits, verify=tls)
               for _ in range(shards)]
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu_at_start = time.process_time()
        await asyncio.gather(*(worker(clients, clients[n] if per_worker else None) for n in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return failures, cpu_at_start


async def send_all_raw(base: str, work: list, concurrency: int, start_at: float) -> tuple[int, float]:
    from urllib.parse import urlsplit
    address = urlsplit(base)
    host, port = address.hostname, address.port
    queue: asyncio.Queue = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    failures = 0

    async def worker(reader, writer) -> None:
        nonlocal failures
        while not queue.empty():
            path, body, headers = queue.get_nowait()
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                         .encode() + body)
            await writer.drain()
            answer = await reader.readuntil(b"\r\n\r\n")
            status = int(answer.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in answer.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            failures += status != 200
        writer.close()

    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu_at_start = time.process_time()
    await asyncio.gather(*(worker(r, w) for r, w in connections))
    return failures, cpu_at_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor_client")
    parser.add_argument("--base", required=True)
    parser.add_argument("--channels", type=int, required=True)
    parser.add_argument("--per-channel", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--at", type=float, required=True, help="start sending at this epoch time")
    parser.add_argument("--due-at", required=True, help="the due time written into each body (ISO 8601)")
    parser.add_argument("--mode", choices=("httpx", "httpx-sharded", "httpx-per-worker", "raw"), default="httpx")
    args = parser.parse_args(argv)
    work = requests_for(args.channels, args.per_channel, args.due_at)
    failures, cpu_at_start = asyncio.run(send_all(args.base, work, args.concurrency, args.at, args.mode))
    cpu_s = time.process_time() - cpu_at_start     # from the start time on, as the daemon's is measured
    peak = 0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    print(json.dumps({"failures": failures, "vmhwm_kb": peak, "cpu_s": round(cpu_s, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
