"""OAuth 2.0 authorization code with PKCE for a command-line app (RFC 8252): the browser comes back
to a one-shot listener on 127.0.0.1, or the user pastes the address (or the code) it landed on.

oauthlib makes the PKCE verifier and challenge and the state; its request helpers refuse plain-http
loopback redirects (which RFC 8252 asks for), so the URLs are built here with urllib."""
from __future__ import annotations

import hmac
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from oauthlib.common import generate_token
from oauthlib.oauth2 import WebApplicationClient

from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError

CALLBACK_PATH = "/callback"
WAIT_SECONDS = 600
DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>postbot</title>"
             b"<p>Done: go back to the terminal. You can close this tab.</p>")


@dataclass
class Pkce:
    """One authorization attempt: the state sent out, and the verifier whose hash went with it."""

    client_id: str
    state: str
    verifier: str
    challenge: str

    @classmethod
    def new(cls, client_id: str) -> "Pkce":
        oauth = WebApplicationClient(client_id)
        verifier = oauth.create_code_verifier(64)
        return cls(client_id, generate_token(32), verifier, oauth.create_code_challenge(verifier, "S256"))

    def authorize_url(self, endpoint: str, redirect_uri: str, scopes: list[str], **extra: str) -> str:
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                 "scope": " ".join(scopes), "state": self.state, "code_challenge": self.challenge,
                 "code_challenge_method": "S256", **extra}
        return f"{endpoint}?{urlencode(query)}"

    def code_from(self, answer: str) -> str:
        """The code in a redirect address (its state checked) or a code pasted as is."""
        answer = answer.strip()
        if "?" not in answer and "=" not in answer:
            if not answer:
                raise ConfigError("no code was pasted; run postbot connect again")
            return answer
        query = parse_qs(urlsplit(answer).query)
        if "error" in query:
            detail = (query.get("error_description") or query["error"])[0]
            raise ConfigError(f"the authorization was not given ({detail}); run postbot connect again and click "
                              f"Authorize")
        state = (query.get("state") or [""])[0]
        if not hmac.compare_digest(state, self.state):
            raise ConfigError("the address came back with another state (an old or someone else's link); "
                              "run postbot connect again and use the new link")
        code = (query.get("code") or [""])[0]
        if not code:
            raise ConfigError("the address has no code; copy the whole address the browser landed on")
        return code


class LoopbackRedirect:
    """A listener on 127.0.0.1 (a free port) that takes one browser redirect to /callback."""

    def __init__(self) -> None:
        self.answers: "queue.Queue[str]" = queue.Queue()
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:     # the query holds the code: keep it off stderr
                pass

            def do_GET(self) -> None:
                if urlsplit(self.path).path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(DONE_PAGE)))
                self.end_headers()
                self.wfile.write(DONE_PAGE)
                answers.put("http://127.0.0.1" + self.path)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> "LoopbackRedirect":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, term: Terminal, timeout: float = WAIT_SECONDS) -> str:
        """The redirect address, or whatever line the user pasted first (an address or a code)."""
        def read_pasted() -> None:
            line = term.stdin.readline()
            if line:
                self.answers.put(line.strip())
        threading.Thread(target=read_pasted, daemon=True).start()
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            raise ConfigError(f"no answer from the browser within {timeout // 60:.0f} minutes; "
                              f"run postbot connect again") from None
