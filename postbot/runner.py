"""Claim -> publish -> record. Platforms only report; policy.decide() says what an error means.

Exactly-once rules:
- A delivery is claimed (state `publishing`, a lease, the claimant's id) before any request.
- On platforms that do not deduplicate, the part about to be sent is written down first
  (`progress.sending`). A claim found stale with that mark may have been sent: it is
  resolved by a lookup where the platform allows one, else it becomes `unknown`.
- Deduplicating platforms (idempotency key, client-chosen record key) are simply re-sent
  with the same key.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from postbot.config import Settings
from postbot.errors import Ambiguous, AuthExpired, ConfigError, PublishError
from postbot.models import Attempt, Channel, Delivery, Published, State
from postbot.platforms import make_sender
from postbot.platforms.base import PublishContext, Sender
from postbot.policy import Backoff, Outcome, decide, unknown_message
from postbot.times import describe_delta

log = logging.getLogger("postbot.runner")
UTC = timezone.utc
RECLAIM_EVERY = timedelta(seconds=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claimant_gone(claimed_by: str) -> bool:
    """A claimant on this host whose process has exited cannot be publishing any more."""
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Runner:
    def __init__(self, store, settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                 worker_id: str | None = None, backoff: Backoff | None = None,
                 client_factory: Callable[[str], Any] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.store, self.settings, self.clock = store, settings, clock
        self.sleep = sleep                  # how a publisher waits on the platform (Meta's containers)
        self.worker = worker_id or new_worker_id()
        self.backoff = backoff or Backoff()
        self._client_factory = client_factory
        self._clients: Any = None           # http_client.ClientSlots, made on first use
        self._tls: Any = None
        self._senders: dict[str, Sender] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._channels_busy: set[str] = set()
        self.stopping = False
        self.published = 0
        # What became of each delivery handled by this runner: published, retry, rate_limited,
        # failed, unknown. `run --once` turns it into its exit code.
        self.tally: Counter[str] = Counter()
        self.on_done: Callable[[], None] | None = None      # the daemon's wake-up hook
        self._reclaimed_at: datetime | None = None
        self._posts: dict[int, dict[str, Any]] = {}

    # ---- plumbing ----------------------------------------------------------------------
    def client(self, kind: str, delivery_id: int):
        """The HTTP client lent to one delivery until it ends (http_client.ClientSlots)."""
        if self._clients is None:
            from postbot.http_client import ClientSlots
            self._clients = ClientSlots(self._client_factory or self._new_client)
        return self._clients.lend(kind, delivery_id)

    def _new_client(self, kind: str):
        import httpx

        from postbot.http_client import DeadlineClient
        if self._tls is None:
            self._tls = httpx.create_ssl_context()     # once: loading the CA bundle costs ~30 ms a client
        return DeadlineClient(deadline=self.settings.request_deadline_seconds, verify=self._tls,
                              timeout=httpx.Timeout(30.0, connect=5.0),
                              limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                              headers={"User-Agent": "postbot/0.1"})

    def sender(self, channel: Channel) -> Sender:
        if channel.name not in self._senders:
            self._senders[channel.name] = make_sender(channel, store=self.store, settings=self.settings)
        return self._senders[channel.name]

    async def close(self) -> None:
        if self._clients is not None:
            await self._clients.aclose()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def slots_free(self) -> int:
        return self.settings.concurrency - len(self._tasks)

    # ---- the loop's steps ----------------------------------------------------------------
    def launch_due(self, now: datetime | None = None) -> int:
        """Claim what is due and start publishing it; returns how many were started."""
        if self.stopping:
            return 0
        now = now or self.clock()
        started = 0
        # A claim goes stale over a lease or a process's death, not between two deliveries: looking
        # once a second spares the claim lock that every daemon's every wake would otherwise take.
        if self._reclaimed_at is None or not timedelta(0) <= now - self._reclaimed_at < RECLAIM_EVERY:
            self._reclaimed_at = now
            for delivery in self.store.reclaim(now, worker=self.worker, lease_seconds=self.settings.lease_seconds,
                                               claimant_gone=claimant_gone):
                log.warning("delivery %s: taking over from %s", delivery.id, delivery.claimed_by)
                started += self._start(delivery, recovering=True)
        free = self.slots_free
        while free > 0:
            claimed = self.store.claim_due(now, worker=self.worker, lease_seconds=self.settings.lease_seconds,
                                           limit=min(free, 256), exclude_channels=tuple(self._channels_busy))
            if not claimed:
                break
            for delivery in claimed:
                started += self._start(delivery, recovering=False)
            free = self.slots_free
        return started

    def _start(self, delivery: Delivery, recovering: bool) -> int:
        if delivery.id in self._tasks:
            return 0
        self._channels_busy.add(delivery.channel)
        task = asyncio.get_running_loop().create_task(self._process(delivery, recovering))
        self._tasks[delivery.id] = task
        task.add_done_callback(lambda _t, d=delivery: self._done(d))
        return 1

    def _done(self, delivery: Delivery) -> None:
        self._tasks.pop(delivery.id, None)
        self._channels_busy.discard(delivery.channel)
        if self.on_done:
            self.on_done()

    async def wait_any(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def run_once(self, now: datetime | None = None) -> int:
        """Publish everything due at `now` (recovering stale claims first); returns deliveries finished."""
        before = self.published
        while True:
            started = self.launch_due(now)
            if not self._tasks and not started:
                break
            await self.wait_any()
        return self.published - before

    def renew_leases(self) -> None:
        if self._tasks:
            until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
            self.store.extend_leases(list(self._tasks), worker=self.worker, until=until)

    def _post_summary(self, delivery: Delivery) -> dict[str, Any]:
        if delivery.post_id not in self._posts:
            snapshot = self.store.post_snapshot(delivery.post_id)
            self._posts[delivery.post_id] = {key: snapshot.get(key) for key in ("slug", "title", "url")}
        return self._posts[delivery.post_id]

    # ---- one delivery ------------------------------------------------------------------------
    async def _process(self, delivery: Delivery, recovering: bool) -> None:
        try:
            await self._publish_delivery(delivery, recovering)
        except Exception as exc:  # a bug of ours must not kill the daemon or lose the post
            log.exception("delivery %s: unexpected error", delivery.id)
            self._unknown(delivery, f"internal error ({type(exc).__name__}: {exc}); check the platform, "
                                    f"then `postbot retry {delivery.id}` or `postbot cancel {delivery.id}`")
        finally:
            if self._clients is not None:
                self._clients.give_back(delivery.id)

    async def _publish_delivery(self, delivery: Delivery, recovering: bool) -> None:
        try:
            channel = self.settings.channel(delivery.channel)
        except Exception:
            self._finish(delivery, State.FAILED, error=f"channel {delivery.channel} is no longer configured in "
                                                       f"POSTBOT_CHANNELS; add it back, then `postbot retry {delivery.id}`")
            return
        sender = self.sender(channel)
        now = self.clock()
        late = now - delivery.due_at
        first_try = delivery.attempts <= 1 and delivery.next_attempt_at is None and not delivery.progress
        if not recovering and first_try and late.total_seconds() > self.settings.grace_seconds:
            self._finish(delivery, State.FAILED,
                         error=f"missed its time by {describe_delta(late)} (the daemon was not running); "
                               f"`postbot retry {delivery.id}` to send it now or `postbot reschedule "
                               f"{delivery.id} --at WHEN`")
            return
        progress: dict[str, Any] = dict(delivery.progress)
        # Parts already out, kept in the progress as JSON so a retry or a take-over sends only the rest.
        done = [Published.from_json(entry) for entry in progress.get("done", [])]
        client = self.client(channel.kind, delivery.id)
        try:
            await sender.renew(client, now)       # a token close to expiry is renewed before it is needed
        except (PublishError, ConfigError) as exc:
            self._after_error(delivery, sender, exc, progress, parts_done=len(done))
            return
        for index in range(len(done), len(delivery.parts)):
            part = delivery.parts[index]
            key = delivery.idempotency_key if len(delivery.parts) == 1 else f"{delivery.idempotency_key}-{index + 1}"

            def save(update: dict[str, Any], _progress=progress) -> None:
                _progress.update(update)
                if not self.store.save_progress(delivery.id, worker=self.worker, progress=_progress):
                    raise _LostClaim()

            ctx = PublishContext(client=client, key=key, now=self.clock, state=sender.state,
                                 save_progress=save, progress=progress, part_index=index,
                                 part_count=len(delivery.parts), due_at=delivery.due_at,
                                 root=done[0] if done else None, parent=done[-1] if done else None,
                                 part=part, post=self._post_summary(delivery),
                                 fetch_policy=self.settings.fetch_policy(), sleep=self.sleep)
            try:
                published = await self._publish_part(delivery, sender, part.payload, ctx, progress)
            except _LostClaim:
                log.warning("delivery %s: claim lost to another worker; leaving it", delivery.id)
                return
            except (PublishError, ConfigError) as exc:
                self._after_error(delivery, sender, exc, progress, parts_done=len(done))
                return
            if published is None:
                return
            done.append(published)
            progress["done"] = [entry.to_json() for entry in done]
            progress.pop("sending", None)
            if index + 1 < len(delivery.parts):
                try:
                    save({})
                except _LostClaim:
                    return
        head = done[0]
        self._finish(delivery, State.PUBLISHED, remote_id=head.remote_id, remote_url=head.remote_url,
                     status=None, outcome="published")
        self.published += 1

    async def _publish_part(self, delivery: Delivery, sender: Sender, payload: dict[str, Any],
                            ctx: PublishContext, progress: dict[str, Any]) -> Published | None:
        if progress.get("sending") == ctx.part_index and not sender.dedupes:
            # A previous run may have sent this part: find out before sending again.
            try:
                found = await sender.recover(payload, ctx)
            except Ambiguous as exc:
                self._unknown(delivery, unknown_message(delivery, exc))
                return None
            if found is not None:
                return found
        if not sender.dedupes:
            ctx.save_progress({"sending": ctx.part_index})
        started = time.monotonic()
        try:
            try:
                return await sender.publish(payload, ctx)
            except AuthExpired:
                if not sender.refreshes:
                    raise
                await sender.refresh(ctx)
                return await sender.publish(payload, ctx)
        finally:
            ctx.progress["latency_ms"] = round((time.monotonic() - started) * 1000, 1)

    def _after_error(self, delivery: Delivery, sender: Sender, exc: PublishError | ConfigError,
                     progress: dict[str, Any], *, parts_done: int) -> None:
        now = self.clock()
        outcome: Outcome = decide(exc, delivery, now, dedupes=sender.dedupes,
                                  max_attempts=self.settings.max_attempts, backoff=self.backoff,
                                  parts_done=parts_done)
        attempt = Attempt(delivery.id, now, getattr(exc, "status", None), str(exc), progress.get("latency_ms"),
                          outcome.label)
        if outcome.hold_until is not None:
            self.store.hold_channel(delivery.channel, outcome.hold_until, str(exc))
        if outcome.clear_sending:
            self._clear_sending(delivery, progress)
        if outcome.state is State.SCHEDULED:
            if self.store.requeue(delivery.id, worker=self.worker, run_at=outcome.run_at, now=now,
                                  error=outcome.error, attempt=attempt, refund=outcome.refund):
                reason = (f"rate limited: {exc}" if outcome.label == "rate_limited" else
                          f"attempt {delivery.attempts} of {self.settings.max_attempts} failed: {exc}")
                self._again(delivery, outcome.label, reason, outcome.run_at, now)
        else:
            self._finish(delivery, outcome.state, error=outcome.error, attempt=attempt)

    def _again(self, delivery: Delivery, outcome: str, reason: str, run_at: datetime, now: datetime) -> None:
        """One line for whoever reads the logs (cron mails them): which delivery, why, and when next."""
        self.tally[outcome] += 1
        when = run_at.astimezone(self.settings.zone()).strftime("%Y-%m-%d %H:%M:%S %Z")
        log.warning("delivery %s (%s): %s; next attempt %s (in %s)", delivery.id, delivery.channel, reason,
                    when, describe_delta(run_at - now))

    def _clear_sending(self, delivery: Delivery, progress: dict[str, Any]) -> None:
        if "sending" in progress:
            progress.pop("sending")
            self.store.save_progress(delivery.id, worker=self.worker, progress=progress)

    def _unknown(self, delivery: Delivery, message: str) -> None:
        self._finish(delivery, State.UNKNOWN, error=message,
                     attempt=Attempt(delivery.id, self.clock(), None, message, None, "unknown"))

    def _finish(self, delivery: Delivery, state: State, *, error: str | None = None,
                remote_id: str | None = None, remote_url: str | None = None,
                attempt: Attempt | None = None, status: int | None = None, outcome: str | None = None) -> None:
        now = self.clock()
        if attempt is None:
            attempt = Attempt(delivery.id, now, status, error, None, outcome or state.value)
        if not self.store.finish(delivery.id, worker=self.worker, state=state, now=now, remote_id=remote_id,
                                 remote_url=remote_url, error=error, attempt=attempt):
            log.warning("delivery %s: claim was lost before recording %s", delivery.id, state.value)
            return
        self.tally[state.value] += 1
        if state is State.PUBLISHED:
            log.info("delivery %s published to %s: %s", delivery.id, delivery.channel, remote_url or remote_id)
        else:
            log.warning("delivery %s (%s): %s: %s; no further attempt", delivery.id, delivery.channel,
                        state.value, error)


class _LostClaim(Exception):
    pass

