"""The `postbot` command: parse arguments, call postbot.app, print text or JSON (postbot.output).

Exit codes: 0 success, 1 runtime failure, 2 bad input (file, setting or argument)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


class _Version(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from postbot import __version__
        print(f"postbot {__version__}")
        parser.exit()


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postbot", description="Turn long posts into platform-exact "
                                     "teasers and publish them on schedule, exactly once.")
    parser.add_argument("--version", action=_Version, help="print postbot's version and exit")
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
    p.add_argument("--repeats", action="store_true",
                   help="also show every planned re-share of a post with `repeat:` (times and texts)")

    p = command("queue", "validate a post for every channel and queue it",
                "postbot queue posts/hip-thrust-alternatives.md --at 2026-12-01T09:00")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--at", metavar="WHEN", help="ISO 8601 (local time), now, +90m, +2h, +1d, or next (each "
                   "channel's next free slot from <NAME>_SLOTS); default: the post's publish_at, else the next free "
                   "slot where <NAME>_SLOTS is set, else now")
    p.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--repair", action="store_true", help="repair mis-decoded characters first")
    p.add_argument("--repeat", metavar="EVERY", help="re-share every EVERY (30d, 2w, 36h) in new words; "
                   "overrides the post's repeat:")
    p.add_argument("--times", type=int, metavar="N", help="with --repeat: how many re-shares (default 3)")
    p.add_argument("--until", metavar="DATE", help="with --repeat: no re-share after this date (2027-06-01)")
    p.add_argument("--again", action="store_true",
                   help="queue a post that is already queued or published on these channels once more")

    p = command("list", "list deliveries", "postbot list --state scheduled --limit 50")
    p.add_argument("--state", choices=["scheduled", "publishing", "published", "failed", "cancelled", "unknown"])
    p.add_argument("--limit", type=_positive, default=1000, metavar="N", help="at most N, earliest due first (1000)")
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

    p = command("resolve", "settle an unknown delivery you found on the platform: it was posted",
                "postbot resolve 12 --url https://mastodon.social/@coach/113")
    p.add_argument("id", type=int)
    p.add_argument("--url", metavar="URL", help="the live post's link, if you found it")
    p.add_argument("--json", action="store_true")

    p = command("status", "channels, their credentials, and the queue at a glance", "postbot status --json")
    p.add_argument("--json", action="store_true")
    p.add_argument("--offline", action="store_true", help="do not contact the platforms")

    p = command("feeds", "feeds whose new items are queued by themselves (RSS, Atom, JSON Feed)",
                "postbot feeds add https://example.com/feed --channel x --cta 'Coaching https://example.com/c'")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="check a feed and remember it; the daemon polls it from then on",
                           description="Fetch the feed once, say what it holds and what the first poll will "
                                       "queue, and remember it.\n\nexample: postbot feeds add "
                                       "https://example.com/feed --channel x --every 30m --first 1",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("url", metavar="URL")
    a.add_argument("--name", help="a short name for the feed (default: from its host)")
    a.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable; default all)")
    a.add_argument("--cta", action="append", metavar="'LABEL URL'", help="a call to action for every item (repeatable)")
    a.add_argument("--first", type=int, default=1, metavar="N",
                   help="the first poll queues the newest N items and remembers the rest as seen (default 1)")
    a.add_argument("--every", default="15m", metavar="DURATION", help="poll interval (default 15m, at least 1m)")
    a.add_argument("--slots", metavar="SPEC", help="slots for this feed's items, e.g. 'mon-fri 09:00,17:30' "
                   "(default: each channel's <NAME>_SLOTS, else 09:00,13:00,17:00)")
    a.add_argument("--template", metavar="FILE", help="a template in POSTBOT_TEMPLATES for every channel")
    a.add_argument("--teaser", choices=["body", "title"], default="body",
                   help="cut the teaser from the article (default) or use the item's title")
    a.add_argument("--tag", action="append", metavar="TAG", help="a tag for every item (repeatable)")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("list", help="feeds, their last poll and what it queued")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("check", help="dry run: what a poll would queue now, with previews",
                           description="Fetch the feed now and show the items a poll would queue, rendered for "
                                       "each channel. Nothing is written.\n\nexample: postbot feeds check blog",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("feed", metavar="URL|NAME")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("remove", help="stop polling a feed (what it queued stays queued)")
    a.add_argument("feed", metavar="URL|NAME")
    a.add_argument("--json", action="store_true")

    p = command("serve", "the local dashboard: calendar, previews, compose, decide", "postbot serve --port 8377")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other "
                                                       "needs POSTBOT_SERVE_TOKEN)")
    p.add_argument("--port", type=int, default=8377, help="port (default 8377)")
    p.add_argument("--posts-dir", default="posts", metavar="DIR",
                   help="where articles queued from the dashboard are saved as post files (default posts)")
    p.add_argument("--with-daemon", action="store_true",
                   help="also publish what is due, in the same process (instead of `postbot run` beside it)")
    p.add_argument("--watch", action="append", metavar="DIR", help="with --with-daemon: a folder whose new "
                                                                   "post files are queued (repeatable)")

    from postbot.connect import FLOWS
    p = command("connect", "set up a channel step by step; the verified credential is written to the env file",
                "postbot connect mastodon --name work")
    p.add_argument("platform", choices=sorted(FLOWS), metavar="PLATFORM", help=", ".join(sorted(FLOWS)))
    p.add_argument("--name", metavar="NAME", help="channel name (default: the platform's name)")

    p = command("run", "the scheduler daemon", "postbot run --once")
    p.epilog = ("each retry and failure is logged on stderr (delivery, channel, reason, next attempt).\n"
                "exit codes of --once: 0 everything due was published (or nothing was due); 1 a delivery\n"
                "failed or became unknown (see `postbot status`); 75 a delivery waits for a retry or a rate\n"
                "limit; 2 bad input")
    p.add_argument("--once", action="store_true", help="poll due feeds and watched folders, publish everything "
                                                       "due now, then exit (exit codes below)")
    p.add_argument("--watch", action="append", metavar="DIR",
                   help="queue new or changed post files in DIR into next slots (repeatable; also POSTBOT_WATCH)")
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
    except BrokenPipeError:
        # `postbot list | head`: the reader left. Quiet, like git: no traceback, and point stdout at
        # /dev/null so the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _settings(args):
    from postbot.config import load_settings
    from postbot.redact import remember_settings
    if args.env_file and Path(args.env_file).is_file():
        from dotenv import load_dotenv
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


def _out(text: str, err: bool = False) -> None:
    """Every line postbot prints goes through the secret filter."""
    from postbot.redact import redact
    print(redact(text), file=sys.stderr if err else sys.stdout)


def _width() -> int | None:
    """The terminal's width for tables (COLUMNS wins); None when printing to a pipe or file."""
    import os
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
    import os
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
