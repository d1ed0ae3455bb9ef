"""OAuth 2.0 authorization code (with PKCE where the platform takes it) for a command-line app
(RFC 8252): the browser comes back to a one-shot listener on 127.0.0.1, or the user pastes the address
(or the code) it landed on; then the code is exchanged with one form or query request.

oauthlib makes the PKCE verifier and challenge and the state; its request helpers refuse plain-http
loopback redirects (which RFC 8252 asks for), so the URLs are built here with urllib."""
from __future__ import annotations

import hmac
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from oauthlib.common import generate_token
from oauthlib.oauth2 import WebApplicationClient

from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError, PublishError
from postbot.models import Channel
from postbot.platforms.outcomes import error_message, json_object, send
from postbot.redact import remember_secret, remember_tokens_in
from postbot.remote_fetch import is_loopback

CALLBACK_PATH = "/callback"
# What to register in an app whose redirect URLs must be listed exactly (LinkedIn, Meta, X):
# a fixed loopback port, since the registered URL has to match to the port.
REGISTERED_REDIRECT = "http://127.0.0.1:8765/callback"
WAIT_SECONDS = 600
DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>postbot</title>"
             b"<p>Done: go back to the terminal. You can close this tab.</p>")


@dataclass
class Authorization:
    """One authorization attempt: the state sent out and, with PKCE, the verifier whose hash went with it."""

    client_id: str
    state: str
    verifier: str | None = None
    challenge: str | None = None

    @classmethod
    def new(cls, client_id: str, *, pkce: bool = True) -> "Authorization":
        if not pkce:
            return cls(client_id, generate_token(32))
        oauth = WebApplicationClient(client_id)
        verifier = oauth.create_code_verifier(64)
        return cls(client_id, generate_token(32), verifier, oauth.create_code_challenge(verifier, "S256"))

    def authorize_url(self, endpoint: str, redirect_uri: str, scopes: list[str], *, scope_separator: str = " ",
                      **extra: str) -> str:
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                 "scope": scope_separator.join(scopes), "state": self.state, **extra}
        if self.challenge:
            query.update(code_challenge=self.challenge, code_challenge_method="S256")
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
            detail = (query.get("error_description") or query.get("error_reason") or query["error"])[0]
            raise ConfigError(f"the authorization was not given ({detail}); run postbot connect again and click "
                              f"Authorize (Allow, Continue) on the platform's page")
        state = (query.get("state") or [""])[0]
        if not hmac.compare_digest(state, self.state):
            raise ConfigError("the address came back with another state (an old or someone else's link); "
                              "run postbot connect again and use the new link")
        code = (query.get("code") or [""])[0]
        if not code:
            raise ConfigError("the address has no code; copy the whole address the browser landed on")
        return code


class LoopbackRedirect:
    """A listener on 127.0.0.1 that takes one browser redirect to `path` (port 0: a free one)."""

    def __init__(self, port: int = 0, path: str = CALLBACK_PATH, host: str = "127.0.0.1") -> None:
        self.answers: "queue.Queue[str]" = queue.Queue()
        self.path, self.host = path, host
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:     # the query holds the code: keep it off stderr
                pass

            def do_GET(self) -> None:
                if urlsplit(self.path).path != path:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(DONE_PAGE)))
                self.end_headers()
                self.wfile.write(DONE_PAGE)
                answers.put("http://127.0.0.1" + self.path)

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on 127.0.0.1:{port} for the browser's redirect ({exc.strerror}); "
                              f"stop what uses that port, or register another http://127.0.0.1:<port>/callback "
                              f"in the app and give that") from None
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}{self.path}"

    def __enter__(self) -> "LoopbackRedirect":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, term: Terminal, timeout: float = WAIT_SECONDS) -> str:
        """The redirect address, or whatever line the user pasted first (an address or a code)."""
        return _first_answer(self.answers, term, timeout)


class PastedRedirect:
    """A redirect URL postbot cannot listen on (https, another host): the user pastes where it landed."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.answers: "queue.Queue[str]" = queue.Queue()

    def __enter__(self) -> "PastedRedirect":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def wait(self, term: Terminal, timeout: float = WAIT_SECONDS) -> str:
        return _first_answer(self.answers, term, timeout)


def _first_answer(answers: "queue.Queue[str]", term: Terminal, timeout: float) -> str:
    answer = term.wait(answers, timeout)
    if answer is None:
        raise ConfigError(f"no answer from the browser within {timeout // 60:.0f} minutes; "
                          f"run postbot connect again")
    return answer


def redirect_for(uri: str) -> LoopbackRedirect | PastedRedirect:
    """Listen where a registered http loopback URL points; for any other URL, wait for a pasted address."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{uri!r} is not a redirect URL; give the one registered in the app, "
                          f"e.g. {REGISTERED_REDIRECT}")
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return LoopbackRedirect(parts.port or 80, parts.path or "/", parts.hostname)
    return PastedRedirect(uri)


def ask_redirect(term: Terminal, channel: Channel) -> LoopbackRedirect | PastedRedirect:
    """The redirect URL registered in the app, exactly as registered (<NAME>_REDIRECT_URI is the default)."""
    uri = term.ask("Redirect URL, exactly as registered in the app",
                   channel.setting("REDIRECT_URI") or REGISTERED_REDIRECT)
    return redirect_for(uri)


def browser_code(term: Terminal, auth: Authorization, redirect, authorize_url: str, *, click: str) -> str:
    """Print the address to open and what to click, wait for the browser (or a pasted address), and
    return the code, checked against the state and remembered as a secret."""
    term.say(f"Open this address in your browser, log in if asked, and click {click}:")
    term.say("  " + authorize_url)
    if isinstance(redirect, LoopbackRedirect):
        term.say("Waiting for the browser. If it runs on another machine the last page will not load: copy the")
        term.say(f"address it shows (it starts with http://{redirect.host}) and paste it here, then press Enter.")
    else:
        term.say(f"The browser then lands on {redirect.redirect_uri}?code=...: copy that whole address from the")
        term.say("address bar (the page itself may not load) and paste it here, then press Enter.")
    code = auth.code_from(redirect.wait(term))
    remember_secret(code)
    return code


def browser_authorization(term: Terminal, channel: Channel, endpoint: str, scopes: list[str], *, client_id: str,
                          click: str, pkce: bool = True, scope_separator: str = " ") -> tuple[str, str, Authorization]:
    """The authorization code flow's browser part on the redirect URL registered in the app: the code, the
    redirect URL it was given for (the token request repeats it), and the Authorization (its PKCE verifier)."""
    with ask_redirect(term, channel) as redirect:
        auth = Authorization.new(client_id, pkce=pkce)
        link = auth.authorize_url(endpoint, redirect.redirect_uri, scopes, scope_separator=scope_separator)
        return browser_code(term, auth, redirect, link, click=click), redirect.redirect_uri, auth


async def call_json(client, method: str, url: str, *, what: str, fix: str, public: tuple[str, ...] = (),
                    **kwargs: Any) -> dict[str, Any]:
    """One request of a connect flow (a token exchange, or a read with the new token): its JSON object (or
    form), or a ConfigError with the platform's words and `fix`.
    Every token and secret in the answer, however deep (the Page tokens /me/accounts lists), is remembered
    as a secret before anything can print it, but for the `public` keys (an OAuth 1.0a request token travels
    in the authorize address the user opens)."""
    try:
        response = await send(client, method, url, what=what, **kwargs)
    except PublishError as exc:
        raise ConfigError(f"{exc}; check the network, then run postbot connect again") from None
    # Most answer JSON; OAuth 1.0a token endpoints answer a form (oauth_token=...&oauth_token_secret=...).
    answer = json_object(response) or dict(parse_qsl(response.text if response.status_code == 200 else ""))
    if response.status_code != 200:
        raise ConfigError(f"{what}: the platform answered {response.status_code} ({error_message(response)}); {fix}")
    remember_tokens_in({key: value for key, value in answer.items() if key not in public})
    return answer
