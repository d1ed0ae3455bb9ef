"""The daemon's HTTP client: httpx with a total deadline on every request, not only per read.

httpx's timeouts apply to each network operation, so a server dripping one byte every few seconds
keeps a request open for as long as it likes (a webhook was held 70 s). Here every request that is
read whole gets POSTBOT_REQUEST_DEADLINE_SECONDS from start to last byte; past it the request ends
as an httpx.ReadTimeout, which outcomes.send() reports as a retry that may have been received.
Streamed requests (remote media, postbot/remote_fetch.py) carry their own deadline.
"""
from __future__ import annotations

import asyncio

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
            return await asyncio.wait_for(super().send(request, stream=False, **kwargs), self.deadline)
        except asyncio.TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within the {self.deadline:g} s deadline "
                                    f"(POSTBOT_REQUEST_DEADLINE_SECONDS)", request=request) from None
