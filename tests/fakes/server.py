"""A tiny threaded HTTP server on 127.0.0.1 for playing a platform in tests.

Each fake registers routes: `server.route("POST", "/2/tweets", handler)` where
handler(request) returns `Reply(status, body, headers)`. Every request is
recorded in `server.requests` so tests assert on what the platform received.

`server.echo(status)` plays what sits in front of many APIs at their worst: a gateway or debug
error page that answers with the request it got (the credential it carried, the request line, every
header, the body), so tests can check that postbot keeps none of it."""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


def last_values(multi: dict[str, list[str]]) -> dict[str, str]:
    """One value per name, the last (as most servers read a repeated parameter)."""
    return {key: values[-1] for key, values in multi.items()}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)   # from the route pattern

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def args(self) -> dict[str, str]:
        """The query, one value per name."""
        return last_values(self.query)

    def fields(self) -> dict[str, str]:
        """The form body, one value per name."""
        return last_values(self.form())


@dataclass
class Reply:
    status: int = 200
    body: Any = None                 # dict/list -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0               # seconds before answering (to provoke client timeouts)


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.echoing: tuple[int, Callable[[Request], bool], str, str | None] | None = None
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                reply = fake.dispatch(request)
                if reply.delay:
                    import time
                    time.sleep(reply.delay)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    data = json.dumps(payload).encode()
                    content_type = "application/json"
                elif isinstance(payload, str):
                    data, content_type = payload.encode(), "text/plain; charset=utf-8"
                else:
                    data, content_type = (payload or b""), "application/octet-stream"
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": content_type, **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        class _Server(ThreadingHTTPServer):
            def server_bind(self) -> None:
                import socket
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().server_bind()

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients killed mid-request (crash tests) are expected

        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """pattern: a path with {name} placeholders, e.g. /bot{token}/sendMessage."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+?)", pattern) + "$")
        self.routes.append((method.upper(), regex, handler))

    def echo(self, status: int, when: Callable[[Request], bool] = lambda request: True, prefix: str = "",
             field: str | None = None) -> None:
        """From now on, answer requests matching `when` with `status` and the request echoed back: as
        plain text, or as the JSON error field the platform's own errors use (`field`)."""
        self.echoing = (status, when, prefix, field)

    @staticmethod
    def echoed(request: Request) -> str:
        """The request as a debug page shows it; the credential first, on its own, as 'rejected: …'."""
        credential = request.headers.get("authorization", "").partition(" ")[2]
        form = parse_qs(request.body.decode("utf-8", "replace")) if b"=" in request.body[:200] else {}
        credential = credential or (request.query.get("access_token") or form.get("access_token") or [""])[0]
        query = "&".join(f"{key}={value}" for key, values in request.query.items() for value in values)
        lines = [f"rejected credential {credential}", f"{request.method} {request.path}{'?' + query if query else ''}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        return "\n".join(lines) + "\n\n" + request.body[:2000].decode("utf-8", "replace")

    def dispatch(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        if self.echoing and self.echoing[1](request):
            status, _, prefix, field = self.echoing
            text = prefix + self.echoed(request)
            return Reply(status, {field: text} if field else text)
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if method == request.method and match:
                request.params = match.groupdict()
                return handler(request)
        return Reply(404, {"error": f"no route for {request.method} {request.path}"})

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
