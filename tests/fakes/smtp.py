"""A strict mail submission server on 127.0.0.1 (aiosmtpd): STARTTLS with a certificate from a test CA
(trustme) before anything else, AUTH PLAIN/LOGIN required and only over TLS, and every message
kept with its envelope. `refuse` makes it answer the DATA with a given SMTP reply, `hold` keeps the
DATA unanswered until it is cleared; starttls=False plays an old relay that offers no TLS at all."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "alerts@example.com", "smtp-pa55word-for-tests"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls: bool


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeSMTP:
    def __init__(self, folder: Path, user: str = USER, password: str = PASSWORD, port: int | None = None,
                 starttls: bool = True):
        self.user, self.password = user, password
        self.received: list[Received] = []
        self.refuse: str | None = None          # e.g. "451 4.3.0 try again later"
        self.hold = threading.Event()           # set: DATA is not answered until it is cleared
        self.unknown: set[str] = set()          # recipients refused with 550
        self.lock = threading.Lock()
        ca = trustme.CA()
        self.ca_file = folder / "smtp-test-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.port = port or free_port()
        secure = {"tls_context": context, "require_starttls": True, "auth_required": True,
                  "auth_require_tls": True, "authenticator": self.authenticate} if starttls else {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **secure)

    # ---- aiosmtpd hooks --------------------------------------------------------------------------
    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user
              and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        while self.hold.is_set():
            await asyncio.sleep(0.02)
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login,
                                          session.ssl is not None))
        return "250 2.0.0 Message accepted for delivery"

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "FakeSMTP":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> "FakeSMTP":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def settings(self, name: str = "mail", to: str = "ops@example.com") -> dict[str, str]:
        """The channel settings that reach this server, for a channel called `name`."""
        prefix = name.upper()
        return {f"{prefix}_SMTP_HOST": "127.0.0.1", f"{prefix}_SMTP_PORT": str(self.port),
                f"{prefix}_SMTP_USER": self.user, f"{prefix}_SMTP_PASSWORD": self.password,
                f"{prefix}_SMTP_CA_FILE": str(self.ca_file), f"{prefix}_FROM": "postbot <postbot@example.com>",
                f"{prefix}_TO": to}
