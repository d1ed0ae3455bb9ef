"""`postbot serve`: the local dashboard, a second face over postbot.app (never a second code path).

* server.py     the Starlette application: routes parse a request, call postbot.app, render a page
* guard.py      who may talk to it: Host and Origin checks, the CSRF token, the optional login token
* compose.py    a pasted article -> a Post, through the same loader as post files
* templates/    Jinja2 pages, escaped everywhere; no script, no external asset

Starlette and uvicorn are imported here only, so the rest of the CLI starts without them.
"""
from __future__ import annotations

from postbot.errors import ConfigError
from postbot.remote_fetch import is_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8377


def check_bind(host: str, token: str | None) -> None:
    """Anything but loopback is reachable by others: refuse it without a login token."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"--host {host} would let anyone on the network use the dashboard; set "
                          f"POSTBOT_SERVE_TOKEN to a long random value (they then log in with it), "
                          f"or serve on 127.0.0.1")


def serve(settings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, posts_dir: str = "posts",
          with_daemon: bool = False, watch=()) -> None:
    """Run the dashboard until interrupted; the daemon runs beside it (`postbot run`) or, with_daemon, in it."""
    import os
    token = os.environ.get("POSTBOT_SERVE_TOKEN") or None
    check_bind(host, token)
    try:
        import uvicorn
        from postbot.web.server import create_app
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the dashboard needs {exc.name}, which comes with postbot; reinstall it (pip install .)") from None
    app = create_app(settings, posts_dir=posts_dir, token=token, allowed_hosts=[host])
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False))
    if not with_daemon:
        server.run()
        return
    import asyncio
    from postbot import app as use

    import signal

    draining = []

    def after_uvicorn(sig, frame) -> None:
        # uvicorn catches Ctrl-C/SIGTERM to stop serving, then raises it again for the handler it
        # found, this one: the first is the daemon's cue to finish what is in flight; another one stops now.
        if draining:
            raise SystemExit(130)
        draining.append(sig)
        server.should_exit = True      # a signal before uvicorn listens for its own stops it too

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, after_uvicorn)

    async def both() -> None:
        daemon = use.daemon(settings, use.open_store(settings), watch=watch)
        running = asyncio.create_task(daemon.serve(own_signals=False))
        try:
            await server.serve()
        finally:
            daemon.request_stop()
            await running

    asyncio.run(both())
