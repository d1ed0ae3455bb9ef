"""Email over SMTP with STARTTLS: a channel kind without rules of its own (it renders as `generic`
unless <NAME>_RENDER_AS says otherwise), used for alerts and for mailing posts.

The stdlib's smtplib does the protocol (STARTTLS, AUTH, the DATA exchange); it blocks, so each
message is sent on a worker thread and the event loop keeps publishing. SMTP cannot deduplicate,
so the runner marks the message as being sent first; a connection lost after the message was
handed over leaves the delivery `unknown`, never re-sent blindly. The Message-ID is derived from
the delivery's idempotency key, so a mail client shows a repeat as the same message.
"""
from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

from postbot.errors import PublishError, Rejected, Retryable
from postbot.models import Channel, Published
from postbot.platforms.base import ChannelState, PublishContext, Sender

log = logging.getLogger("postbot.email")
DEFAULT_PORT = 587          # the submission port, where STARTTLS is the norm
SUBJECT_PREFIX = "[postbot] "


def addresses(raw: str | None) -> list[str]:
    """The addresses in a comma-separated list ("Ops <ops@example.com>, b@example.com"); a malformed
    entry comes back as it is written, so the check below names it."""
    return [address or name for name, address in getaddresses([raw or ""]) if address or name]


def _malformed(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError, TypeError):
        return True
    local, _, domain = address.rpartition("@")
    return not local or ("." not in domain and domain != "localhost")


class EmailSender(Sender):
    kind = "email"
    dedupes = False
    required = ("SMTP_HOST", "FROM", "TO")
    needs_settings = True

    def __init__(self, channel: Channel, state: ChannelState | None = None, settings=None):
        super().__init__(channel, state)
        # smtplib's timeout is per socket operation; the platforms' request deadline is the closest setting.
        self.timeout = float(settings.request_deadline_seconds) if settings else 60.0

    # ---- settings ----------------------------------------------------------------------------
    def settings_problem(self) -> str | None:
        missing = super().settings_problem()
        if missing:
            return missing
        var = self.channel.var
        port = (self.channel.setting("SMTP_PORT") or "").strip()
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"{var('SMTP_PORT')}={port!r} is not a port number; e.g. {DEFAULT_PORT} (STARTTLS submission)"
        for key, many in (("FROM", False), ("TO", True)):
            raw = self.channel.setting(key) or ""
            found = addresses(raw)
            bad = [a for a in found if _malformed(a)]
            example = f"e.g. {var(key)}=ops@example.com" + (" (several: comma-separated)" if many else "")
            if bad or not found:
                which = f": {bad[0]!r}" if bad and bad[0] != raw.strip() else ""
                return f"{var(key)}={raw!r}{which} is not an email address; {example}"
            if len(found) > 1 and not many:
                return f"{var(key)}={raw!r} names {len(found)} addresses; give one, {example}"
        user, password = self.channel.setting("SMTP_USER"), self.channel.setting("SMTP_PASSWORD")
        if bool(user) != bool(password):
            return f"set both {var('SMTP_USER')} and {var('SMTP_PASSWORD')}, or neither (a relay that needs no login)"
        ca_file = self.channel.setting("SMTP_CA_FILE")
        if ca_file and not Path(ca_file).is_file():
            return f"{var('SMTP_CA_FILE')}={ca_file!r} is not a file; name the PEM file of the CA that signed the server"
        return None

    def port(self) -> int:
        return int(self.channel.setting("SMTP_PORT") or DEFAULT_PORT)

    def server(self) -> str:
        return f"{self.channel.setting('SMTP_HOST')}:{self.port()}"

    # ---- the SMTP exchange (blocking: runs on a worker thread) ----------------------------------
    def _open(self) -> smtplib.SMTP:
        """Connected, upgraded to TLS with the certificate checked, and logged in when a user is set."""
        host = self.channel.setting("SMTP_HOST") or ""
        context = ssl.create_default_context(cafile=self.channel.setting("SMTP_CA_FILE") or None)
        smtp = smtplib.SMTP(host, self.port(), timeout=self.timeout)
        try:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
            if self.channel.setting("SMTP_USER"):
                smtp.login(self.channel.setting("SMTP_USER") or "", self.channel.setting("SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send(self, message: EmailMessage) -> None:
        smtp = self._open()         # a failure up to here handed nothing over
        try:
            refused = smtp.send_message(message)
            if refused:             # the others got it: published, and said in the log
                log.warning("email %s: some recipients were refused: %s", self.channel.name, _refused(refused))
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise                   # the server answered: it refused, so it took nothing
        except (OSError, smtplib.SMTPException) as exc:
            raise _MayHaveLanded(exc) from None
        finally:
            _quit(smtp)

    def _probe(self) -> None:
        smtp = self._open()
        try:
            smtp.noop()
        finally:
            _quit(smtp)

    # ---- publishing ---------------------------------------------------------------------------
    def message(self, payload: dict[str, Any], ctx: PublishContext) -> EmailMessage:
        sender = addresses(self.channel.setting("FROM"))[0]
        message = EmailMessage()
        title = (ctx.post.get("title") or "").strip() or "postbot"
        message["Subject"] = SUBJECT_PREFIX + title if ctx.part_count == 1 else \
            f"{SUBJECT_PREFIX}{title} ({ctx.part_index + 1}/{ctx.part_count})"
        message["From"] = self.channel.setting("FROM")
        message["To"] = ", ".join(addresses(self.channel.setting("TO")))
        message["Date"] = format_datetime(ctx.now())
        message["Message-ID"] = f"<{ctx.key}@{sender.rpartition('@')[2]}>"
        message.set_content(str(payload.get("text") or ctx.part.text) + "\n")
        return message

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        message = self.message(payload, ctx)
        try:
            await asyncio.to_thread(self._send, message)
        except Exception as exc:  # noqa: BLE001 - every failure is mapped to what happens next
            raise self.outcome(exc) from None
        return Published(remote_id=message["Message-ID"])

    def outcome(self, exc: Exception) -> PublishError:
        """An SMTP failure as the error tree says: was anything taken, and is trying again worth it."""
        where, fix = f"email {self.channel.name} via {self.server()}", self.fix()
        if isinstance(exc, _MayHaveLanded):
            return Retryable(f"{where}: the connection broke while sending ({_describe(exc.cause)}); "
                             f"it may have been delivered", sent=True)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return Rejected(f"{where}: login refused ({_describe(exc)}); check {self.channel.var('SMTP_USER')} "
                            f"and {self.channel.var('SMTP_PASSWORD')}", sent=False)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            temporary = all(code < 500 for code, _ in exc.recipients.values())
            return (Retryable if temporary else Rejected)(f"{where}: recipients refused ({_refused(exc.recipients)}); "
                                                          f"check {self.channel.var('TO')}", sent=False)
        if isinstance(exc, smtplib.SMTPResponseException):
            text = f"{where}: the server refused the message ({_describe(exc)})"
            return Retryable(text, sent=False) if exc.smtp_code < 500 else Rejected(text, sent=False)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return Rejected(f"{where}: {exc}; postbot sends only over STARTTLS: {fix}", sent=False)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return Rejected(f"{where}: the server's certificate is not trusted ({exc.verify_message}); {fix}, or "
                            f"set {self.channel.var('SMTP_CA_FILE')} to the CA that signed it", sent=False)
        # Nothing was handed over yet: no connection, a refused or failed TLS handshake, a timeout.
        return Retryable(f"{where}: cannot connect ({_describe(exc)}); {fix}", sent=False)

    def fix(self) -> str:
        return f"check {self.channel.var('SMTP_HOST')} and {self.channel.var('SMTP_PORT')}"

    async def check(self, client) -> str:
        """Connect, STARTTLS, log in and say NOOP: proves every setting except the recipients."""
        self.require_settings()
        try:
            await asyncio.to_thread(self._probe)
        except Exception as exc:  # noqa: BLE001
            raise self.check_failed(str(self.outcome(exc)).removeprefix(f"email {self.channel.name} via ")) from None
        login = f" as {self.channel.setting('SMTP_USER')}" if self.channel.setting("SMTP_USER") else ""
        return f"sends from {self.channel.setting('FROM')} to {', '.join(addresses(self.channel.setting('TO')))} " \
               f"via {self.server()} (STARTTLS{login})"


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class _MayHaveLanded(Exception):
    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def _refused(recipients: dict[str, tuple[int, bytes]]) -> str:
    """Each refused recipient with the server's answer (smtplib's {address: (code, message)})."""
    return "; ".join(f"{who}: {_describe(smtplib.SMTPResponseException(*answer))}"
                     for who, answer in recipients.items())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {detail}".strip()
    if isinstance(exc, socket.timeout):
        return "no answer in time"
    return str(exc) or type(exc).__name__


SENDER = EmailSender
