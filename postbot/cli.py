"""The `postbot` command: parse arguments, call the core, print text or JSON. No logic lives here.

Exit codes: 0 success, 1 runtime failure, 2 bad input (file, setting or argument)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

UTC = timezone.utc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postbot", description="Turn long posts into platform-exact "
                                     "teasers and publish them on schedule, exactly once.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--env-file", default=".env", help="settings file (default .env; real environment wins)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=f"{help_text}\n\nexample: {example}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("preview", "render a post (or a queued delivery) for each channel without sending",
                "postbot preview posts/hip-thrust-alternatives.md --channel x --json")
    p.add_argument("target", metavar="PATH|ID", help="a post file, or the id of a queued delivery")
    p.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML preview page")
    p.add_argument("--repair", action="store_true", help="repair mis-decoded characters before rendering")

    p = command("queue", "validate a post for every channel and queue it",
                "postbot queue posts/hip-thrust-alternatives.md --at 2026-12-01T09:00")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--at", metavar="WHEN", help="ISO 8601 (local time), now, +90m, +2h, +1d or next")
    p.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--repair", action="store_true", help="repair mis-decoded characters first")

    p = command("list", "list deliveries", "postbot list --state failed --json")
    p.add_argument("--state", choices=["scheduled", "publishing", "published", "failed", "cancelled", "unknown"])
    p.add_argument("--json", action="store_true")

    p = command("show", "one delivery with its attempts", "postbot show 12")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")

    for name, help_text in (("cancel", "cancel a delivery"), ("retry", "send a failed or unknown delivery again now")):
        p = command(name, help_text, f"postbot {name} 12")
        p.add_argument("id", type=int)
        p.add_argument("--json", action="store_true")

    p = command("reschedule", "move a delivery to another time", "postbot reschedule 12 --at +2h")
    p.add_argument("id", type=int)
    p.add_argument("--at", required=True, metavar="WHEN")
    p.add_argument("--json", action="store_true")

    p = command("status", "channels, their credentials, and the queue at a glance", "postbot status --json")
    p.add_argument("--json", action="store_true")
    p.add_argument("--offline", action="store_true", help="do not contact the platforms")

    p = command("run", "the scheduler daemon", "postbot run --once")
    p.add_argument("--once", action="store_true", help="publish everything due now, then exit")
    p.add_argument("--dry-run", action="store_true", help="show what is due and would be sent; change nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from postbot.errors import PostbotError
    from postbot.redact import redact
    try:
        return _dispatch(args)
    except PostbotError as exc:
        if args.debug:
            raise
        print(f"postbot: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _settings(args):
    from dotenv import load_dotenv
    from postbot.config import load_settings
    from postbot.redact import remember_settings
    if args.env_file and Path(args.env_file).is_file():
        load_dotenv(args.env_file, override=False)
    settings = load_settings()
    remember_settings(settings)
    _logging(args.debug, verbose=args.command == "run")
    return settings


def _logging(debug: bool, verbose: bool) -> None:
    import logging
    from postbot.redact import RedactingFilter
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)   # its lines carry URLs, which may hold tokens
    logging.getLogger("apscheduler").setLevel(logging.ERROR)   # "skipped: already running" is by design


def _store(settings):
    from postbot.store import open_store
    store = open_store(settings.database_url)
    store.migrate()
    return store


def _now() -> datetime:
    return datetime.now(UTC)


def _out(text: str, err: bool = False) -> None:
    """Every line postbot prints goes through the secret filter."""
    from postbot.redact import redact
    print(redact(text), file=sys.stderr if err else sys.stdout)


def _print_json(data: Any) -> None:
    _out(json.dumps(data, ensure_ascii=False, indent=2))


def _dispatch(args) -> int:
    handler = globals()[f"cmd_{args.command.replace('-', '_')}"]
    settings = _settings(args)
    return handler(args, settings)


# ---- commands --------------------------------------------------------------------------------
def cmd_preview(args, settings) -> int:
    from postbot import output
    target = args.target
    if target.isdigit() and not Path(target).exists():
        store = _store(settings)
        delivery = store.get(int(target))
        if delivery is None:
            from postbot.errors import UsageError
            raise UsageError(f"no delivery with id {target}; see `postbot list`")
        data = output.delivery_preview(delivery, store.post_snapshot(delivery.post_id))
        if args.json:
            _print_json(data)
        else:
            _out(output.delivery_preview_text(data))
        return 0
    from postbot.posts import load_post
    from postbot.queueing import load_limits, rules_for, select_channels
    from postbot.render import Renderer
    post = load_post(target, repair=args.repair)
    channels = select_channels(settings, args.channel, post)
    renderer = Renderer(settings.templates_dir)
    rules = rules_for(channels)
    limit_warnings = load_limits(rules, channels)
    renders, failures = output.render_channels(post, channels, renderer, rules)
    data = output.preview_json(post, renders)
    data["post"]["warnings"].extend(limit_warnings)
    if args.html:
        from postbot.output_html import write_html
        write_html(post, renders, Path(args.html))
    if args.json:
        _print_json(data)
    else:
        _out(output.preview_text(data, settings))
    for failure in failures:
        _out(f"postbot: error: {failure}", err=True)
    return 2 if failures else 0


def cmd_queue(args, settings) -> int:
    from postbot import output
    from postbot.posts import load_post
    from postbot.queueing import plan, queue, select_channels
    post = load_post(args.path, repair=args.repair)
    store = _store(settings)
    now = _now()
    planned = plan(post, select_channels(settings, args.channel, post), settings, at=args.at, now=now, store=store)
    deliveries = queue(post, planned, store, now)
    if args.json:
        _print_json([d.to_json() for d in deliveries])
    else:
        for warning in post.warnings:
            _out(f"warning: {warning}", err=True)
        _out(output.deliveries_table(deliveries, settings))
    return 0


def cmd_list(args, settings) -> int:
    from postbot import output
    from postbot.models import State
    store = _store(settings)
    deliveries = store.list(State(args.state) if args.state else None)
    if args.json:
        _print_json([d.to_json() for d in deliveries])
    else:
        _out(output.deliveries_table(deliveries, settings))
    return 0


def cmd_show(args, settings) -> int:
    from postbot import output
    from postbot.errors import UsageError
    store = _store(settings)
    delivery = store.get(args.id)
    if delivery is None:
        raise UsageError(f"no delivery with id {args.id}; see `postbot list`")
    data = delivery.to_json() | {"attempts_log": [a.to_json() for a in store.attempts(args.id)],
                                 "parts": delivery.parts}
    if args.json:
        _print_json(data)
    else:
        _out(output.delivery_text(data, settings))
    return 0


def _changed(args, settings, delivery) -> int:
    from postbot import output
    if args.json:
        _print_json(delivery.to_json())
    else:
        _out(output.deliveries_table([delivery], settings))
    return 0


def cmd_cancel(args, settings) -> int:
    return _changed(args, settings, _store(settings).cancel(args.id, _now()))


def cmd_retry(args, settings) -> int:
    return _changed(args, settings, _store(settings).retry(args.id, _now()))


def cmd_reschedule(args, settings) -> int:
    from postbot.times import parse_when
    now = _now()
    when = parse_when(args.at, now, settings.zone())
    if when is None:
        from postbot.errors import UsageError
        raise UsageError("--at next is only for queue; give a time")
    return _changed(args, settings, _store(settings).reschedule(args.id, when, now))


def cmd_status(args, settings) -> int:
    import asyncio
    from postbot import output
    store = _store(settings)
    data = asyncio.run(output.status(settings, store, _now(), offline=args.offline))
    if args.json:
        _print_json(data)
    else:
        _out(output.status_text(data))
    return 0 if all(c["ready"] for c in data["channels"]) else 1


def cmd_run(args, settings) -> int:
    import asyncio
    import signal
    # Until the daemon installs its own handlers, a stop request simply ends the start-up cleanly.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    from postbot import output
    store = _store(settings)
    if args.dry_run:
        _out(output.dry_run_text(store, settings, _now()))
        return 0
    from postbot.runner import Runner
    runner = Runner(store, settings)
    if args.once:
        async def once() -> None:
            try:
                await runner.run_once()
            finally:
                await runner.close()
        asyncio.run(once())
        counts = store.counts()
        _out(f"published {runner.published}; queue now: " +
              ", ".join(f"{state} {count}" for state, count in sorted(counts.items())))
        return 0
    from postbot.daemon import Daemon
    asyncio.run(Daemon(runner, store).serve())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
