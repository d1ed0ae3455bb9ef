"""The use cases every face calls (the CLI and the web dashboard): preview, queue, list, show,
cancel, retry, reschedule, status, connect, run once, serve, and adding, listing, checking and removing feeds.

A face parses its input, calls one function here and formats what comes back with postbot.output;
it never reaches into the renderer, the store or a sender itself. So an action that exists in
one face exists in the other through the same function, and what you preview is what is queued:
both take every channel's rules and limits from `channel_rules`, backed by the store.
"""
# One module per kind of use case; a face imports this package and calls `app.<use case>`. Each
# module is imported when one of its names is first used, so `postbot preview` does not load the
# feed poller, the daemon or the connect flows.
import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "postbot.app.channels": ("UTC", "channel_rules", "open_store", "select_channels", "utcnow"),
    "postbot.app.previews": ("Preview", "find_delivery", "preview", "preview_delivery", "render_preview",
                             "stored_render"),
    "postbot.app.planning": ("Planned", "PlannedShare", "add_planned", "add_with_reshares", "plan", "plan_reshares",
                             "preview_reshares", "queue"),
    "postbot.app.decisions": ("cancel", "list_deliveries", "mark_published", "reschedule", "retry", "show"),
    "postbot.app.week": ("CalendarEntry", "Week", "by_moment", "calendar", "calendar_entries"),
    "postbot.app.health": ("ChannelStatus", "Status", "check_channels", "daemons", "status"),
    "postbot.app.publishing": ("EXIT_NEEDS_YOU", "EXIT_PUBLISHED", "EXIT_RETRYING", "Due", "RunOnce", "daemon",
                               "due_now", "run_once", "serve"),
    "postbot.app.connecting": ("ConnectResult", "connect"),
    # Feeds: the use cases live beside the poller; a face calls them from here.
    "postbot.sources.feeds": ("FeedCheck", "add_feed", "check_feed", "find_feed", "list_feeds", "remove_feed"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'postbot.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover  (what a type checker sees: the same names, imported)
    from postbot.app.channels import UTC, channel_rules, open_store, select_channels, utcnow  # noqa: F401
    from postbot.app.connecting import ConnectResult, connect  # noqa: F401
    from postbot.app.decisions import cancel, list_deliveries, mark_published, reschedule, retry, show  # noqa: F401
    from postbot.app.health import ChannelStatus, Status, check_channels, daemons, status  # noqa: F401
    from postbot.app.planning import (Planned, PlannedShare, add_planned, add_with_reshares, plan,  # noqa: F401
                                      plan_reshares, preview_reshares, queue)
    from postbot.app.previews import (Preview, find_delivery, preview, preview_delivery,  # noqa: F401
                                      render_preview, stored_render)
    from postbot.app.publishing import (EXIT_NEEDS_YOU, EXIT_PUBLISHED, EXIT_RETRYING, Due, RunOnce,  # noqa: F401
                                        daemon, due_now, run_once, serve)
    from postbot.app.week import CalendarEntry, Week, by_moment, calendar, calendar_entries  # noqa: F401
    from postbot.sources.feeds import FeedCheck, add_feed, check_feed, find_feed, list_feeds, remove_feed  # noqa: F401
