"""The `postbot` command: parse arguments (cli_args.py), call postbot.app, print text or JSON (postbot.output).

Exit codes: 0 success, 1 runtime failure, 2 bad input (file, setting or argument)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _parser():
    from postbot.cli_args import build_parser
    return build_parser()


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
    except BrokenPipeError:
        # `postbot list | head`: the reader left. Quiet, like git: no traceback, and point stdout at
        # /dev/null so the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _settings(args):
    from postbot.config import load_settings
    if args.env_file and Path(args.env_file).is_file():
        from dotenv import load_dotenv
        load_dotenv(args.env_file, override=False)
    settings = load_settings()          # registers every secret it holds with postbot.redact
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


def _out(text: str, err: bool = False) -> None:
    """Every line postbot prints goes through the secret filter."""
    from postbot.redact import redact
    print(redact(text), file=sys.stderr if err else sys.stdout)


def _width() -> int | None:
    """The terminal's width for tables (COLUMNS wins); None when printing to a pipe or file."""
    import shutil
    if os.environ.get("COLUMNS", "").strip().isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _dispatch(args) -> int:
    handler = globals()[f"cmd_{args.command.replace('-', '_')}"]
    if args.command == "connect":       # it writes the env file, so it reads it itself
        _logging(args.debug, verbose=False)
        return handler(args, None)
    settings = _settings(args)
    return handler(args, settings)


# ---- commands: parse -> call app -> print ------------------------------------------------------
def cmd_preview(args, settings) -> int:
    from postbot import app, output
    store = app.open_store(settings, create=False)
    target = args.target
    if target.isdigit() and not Path(target).exists():
        data = output.delivery_preview(*app.preview_delivery(store, int(target)))
        _out(_json(data) if args.json else output.delivery_preview_text(data, settings))
        return 0
    from postbot.posts import load_post
    post = load_post(target, repair=args.repair, media_roots=settings.media_roots)
    if args.repeats:
        shares, stopped = app.preview_reshares(settings, store, post, args.channel)
        data = output.reshares_json(shares, stopped)
        _out(_json(data) if args.json else output.reshares_text(data, settings))
        return 0
    preview = app.preview(settings, store, post, args.channel)
    if args.html:
        from postbot.output_html import write_html
        write_html(preview.post, preview.renders, Path(args.html))
    data = output.preview_json(preview)
    _out(_json(data) if args.json else output.preview_text(data, settings))
    for failure in preview.failures:
        _out(f"postbot: error: {failure}", err=True)
    return 0 if preview.ok else 2


def cmd_queue(args, settings) -> int:
    from postbot import app, output
    from postbot.posts import load_post
    post = load_post(args.path, repair=args.repair, media_roots=settings.media_roots)
    if args.repeat or args.times or args.until:
        if not args.repeat:
            from postbot.errors import UsageError
            raise UsageError("--times and --until go with --repeat EVERY, e.g. --repeat 30d --times 4")
        post.repeat = {"every": args.repeat, "times": 3 if args.times is None else args.times, "until": args.until}
    deliveries = app.queue(settings, app.open_store(settings, create=False), post, args.channel, at=args.at,
                           again=args.again)
    if args.json:
        _out(_json([d.to_json() for d in deliveries]))
    else:
        for warning in post.warnings:
            _out(f"warning: {warning}", err=True)
        _out(output.deliveries_table(deliveries, settings, _width()))
    return 0


def cmd_list(args, settings) -> int:
    from postbot import app, output
    deliveries = app.list_deliveries(app.open_store(settings, create=False), args.state, limit=args.limit)
    _out(_json([d.to_json() for d in deliveries]) if args.json else output.deliveries_table(deliveries, settings, _width()))
    return 0


def cmd_show(args, settings) -> int:
    from postbot import app, output
    data = output.show_json(*app.show(app.open_store(settings, create=False), args.id))
    _out(_json(data) if args.json else output.delivery_text(data, settings))
    return 0


def _changed(args, settings, delivery) -> int:
    from postbot import output
    _out(_json(delivery.to_json()) if args.json else output.deliveries_table([delivery], settings, _width()))
    return 0


def cmd_cancel(args, settings) -> int:
    from postbot import app
    return _changed(args, settings, app.cancel(app.open_store(settings, create=False), args.id))


def cmd_retry(args, settings) -> int:
    from postbot import app
    return _changed(args, settings, app.retry(app.open_store(settings, create=False), args.id))


def cmd_reschedule(args, settings) -> int:
    from postbot import app
    return _changed(args, settings, app.reschedule(settings, app.open_store(settings, create=False), args.id, args.at))


def cmd_resolve(args, settings) -> int:
    from postbot import app
    return _changed(args, settings, app.mark_published(app.open_store(settings), args.id, args.url))


def cmd_calendar(args, settings) -> int:
    from postbot import app, output_calendar
    from postbot.errors import UsageError
    if args.ics == "-" and args.json:
        raise UsageError("--ics - prints the calendar itself: leave out --json, or give --ics a file name")
    now = app.utcnow()
    entries = app.calendar_entries(settings, app.open_store(settings, create=False), now, args.since)
    if args.ics == "-":
        _out(output_calendar.ics(entries, settings, now).decode("utf-8").rstrip("\r\n"))
        return 0
    if args.ics:
        from postbot.files import write_named_file
        write_named_file(Path(args.ics), output_calendar.ics(entries, settings, now), "--ics")
    if args.json:
        _out(_json(output_calendar.entries_json(entries, settings)))
    elif args.ics:
        events = len(output_calendar.groups(entries))
        _out(f"wrote {len(entries)} deliveries as {events} events (one per post and moment) to {args.ics} "
             f"(import it, or serve it: `postbot serve` has /calendar.ics)")
    else:
        _out(output_calendar.entries_text(entries, settings))
    return 0


def cmd_status(args, settings) -> int:
    from postbot import app, output
    status = app.status(settings, app.open_store(settings, create=False), offline=args.offline)
    data = output.status_json(status)
    _out(_json(data) if args.json else output.status_text(data, settings))
    return 0 if status.ready else 1


def cmd_serve(args, settings) -> int:
    from postbot import web
    from postbot.errors import UsageError
    if args.watch and not args.with_daemon:
        raise UsageError("--watch needs --with-daemon (or give it to `postbot run`, which publishes)")
    web.check_bind(args.host, _serve_token())
    publisher = "this process publishes" if args.with_daemon else "`postbot run` publishes"
    _out(f"postbot dashboard on http://{args.host}:{args.port}/ (Ctrl-C stops it; {publisher})", err=True)
    web.serve(settings, host=args.host, port=args.port, posts_dir=args.posts_dir,
              with_daemon=args.with_daemon, watch=_watch(args, settings) if args.with_daemon else ())
    return 0


def _serve_token() -> str | None:
    return os.environ.get("POSTBOT_SERVE_TOKEN") or None


def cmd_connect(args, settings) -> int:
    import os
    from postbot import app
    from postbot.connect.terminal import Terminal
    result = app.connect(args.platform, args.name, env_file=Path(args.env_file), environ=dict(os.environ),
                         term=Terminal())
    _out(f"Connected {result.platform} channel {result.channel!r}: {result.who}")
    _out(f"Wrote {', '.join(result.written)} to {result.env_file} (readable by you only).")
    for note in result.notes:
        _out(f"note: {note}")
    _out("Next: postbot status")
    return 0


def cmd_run(args, settings) -> int:
    import signal
    # Until the daemon installs its own handlers, a stop request simply ends the start-up cleanly.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    from postbot import app, output
    # A look (--dry-run), or a one-off run with no folder to watch, of a database that does not exist
    # yet leaves no file behind (feeds live in the database: none without it). The daemon and a run
    # that may queue from watched folders create it.
    store = app.open_store(settings, create=not (args.dry_run or (args.once and not _watch(args, settings))))
    if args.dry_run:
        _out(output.dry_run_text(app.due_now(store), settings))
    elif args.once:
        result = app.run_once(settings, store, watch=_watch(args, settings))
        _out(output.run_once_text(result))
        return result.exit_code
    else:
        app.serve(settings, store, watch=_watch(args, settings))
    return 0


def _watch(args, settings) -> list[Path]:
    """POSTBOT_WATCH's folders and those given with --watch."""
    from postbot.config import watch_folders
    return list(settings.watch) + list(watch_folders(",".join(args.watch or []), "--watch"))


def cmd_feeds(args, settings) -> int:
    from postbot import app, output_sources
    store = app.open_store(settings)
    if args.action == "add":
        from postbot.sources.feeds import feed_options
        options = feed_options(channels=args.channel, ctas=args.cta, first=args.first, every=args.every,
                               slots=args.slots, template=args.template, teaser=args.teaser, tags=args.tag)
        data = output_sources.added_json(*app.add_feed(settings, store, args.url, options, name=args.name), settings)
        text = output_sources.added_text(data)
    elif args.action == "list":
        data = output_sources.feeds_json(app.list_feeds(store))
        text = output_sources.feeds_text(data, settings)
    elif args.action == "remove":
        feed = app.remove_feed(store, args.feed)
        data, text = feed.to_json(), f"removed feed {feed.name} ({feed.url})"
    else:
        check = app.check_feed(settings, store, args.feed)
        data = output_sources.check_json(check)
        text = output_sources.check_text(data, settings)
    _out(_json(data) if args.json else text)
    return 2 if args.action == "check" and data["failures"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
