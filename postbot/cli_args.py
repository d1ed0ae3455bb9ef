"""The `postbot` command's arguments: every command, option and help text (cli.py dispatches them).

Each command's description is its help with an example; the README's command table is checked
against this parser by the tests."""
from __future__ import annotations

import argparse


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


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable, or a comma list: x,bluesky)")
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
    p.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable, or a comma list: x,bluesky)")
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

    p = command("calendar", "scheduled, published and failed deliveries as a calendar; --ics writes an "
                "iCalendar file to import or subscribe to", "postbot calendar --ics postbot.ics")
    p.add_argument("--ics", metavar="FILE", help="write the deliveries to FILE as iCalendar (.ics), replaced in one "
                                                 "rename; '-' prints it")
    p.add_argument("--since", metavar="DATE", help="from this local date, e.g. 2026-11-01 (default: 90 days ago); "
                                                   "everything ahead is included")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")

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
    a.add_argument("--channel", action="append", metavar="NAME", help="only this channel (repeatable, or a comma list; default all)")
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
