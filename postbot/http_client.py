"""The daemon's HTTP clients: httpx with a total deadline on every request, not only per read, and
one client per delivery in flight.

httpx's timeouts apply to each network operation, so a server dripping one byte every few seconds
keeps a request open for as long as it likes (a webhook was held 70 s). Here every request that is
read whole gets POSTBOT_REQUEST_DEADLINE_SECONDS from start to last byte; past it the request ends
as an httpx.ReadTimeout, which outcomes.send() reports as a retry that may have been received.
Streamed requests (remote media, postbot/remote_fetch.py) carry their own deadline.
"""
from __future__ import annotations

import asyncio
from typing import Callable

import httpx

DEFAULT_DEADLINE_SECONDS = 60.0


class DeadlineClient(httpx.AsyncClient):
    def __init__(self, *args, deadline: float = DEFAULT_DEADLINE_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    async def send(self, request: httpx.Request, *, stream: bool = False, **kwargs) -> httpx.Response:
        if stream:
            return await super().send(request, stream=True, **kwargs)
        try:
            # asyncio.timeout, not wait_for: no extra task per request.
            async with asyncio.timeout(self.deadline):
                return await super().send(request, stream=False, **kwargs)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within the {self.deadline:g} s deadline "
                                    f"(POSTBOT_REQUEST_DEADLINE_SECONDS)", request=request) from None


class ClientSlots:
    """Clients lent one per delivery in flight and given back when it ends, kept per platform kind.

    httpcore's pool does work in proportion to its connections on every request (it checks each
    one for expiry and readability), so one pool shared by 64 requests costs several times the CPU
    per request of 64 pools of one connection each (benchmarks/fanout.py measures both). A delivery
    sends its requests one after another, so one connection is all it needs; a client given back
    keeps that connection alive for the next delivery to the same platform."""

    def __init__(self, make: Callable[[str], httpx.AsyncClient]):
        self._make = make
        self._idle: dict[str, list[httpx.AsyncClient]] = {}
        self._lent: dict[object, tuple[str, httpx.AsyncClient]] = {}

    def lend(self, kind: str, borrower: object) -> httpx.AsyncClient:
        """A client for `borrower` (a delivery, which borrows once) until it gives it back."""
        idle = self._idle.setdefault(kind, [])
        client = idle.pop() if idle else self._make(kind)
        self._lent[borrower] = (kind, client)
        return client

    def give_back(self, borrower: object) -> None:
        lent = self._lent.pop(borrower, None)
        if lent is not None:
            self._idle[lent[0]].append(lent[1])

    async def aclose(self) -> None:
        clients = [client for idle in self._idle.values() for client in idle]
        clients += [client for _, client in self._lent.values()]
        self._idle.clear()
        self._lent.clear()
        for client in clients:
            await client.aclose()
