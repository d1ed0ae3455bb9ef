"""The use cases every face calls (the CLI and the web dashboard): preview, queue, list, show,
cancel, retry, reschedule, status, connect, run once, serve, and adding, listing, checking and removing feeds.

A face parses its input, calls one function here and formats what comes back with postbot.output;
it never reaches into the renderer, the store or a sender itself. So an action that exists in
one face exists in the other through the same function, and what you preview is what is queued:
both take every channel's rules and limits from `channel_rules`, backed by the store.
"""
# One module per kind of use case; a face imports this package and calls `app.<use case>`.
from postbot.app.channels import UTC, channel_rules, open_store, select_channels, utcnow  # noqa: F401
from postbot.app.previews import Preview, find_delivery, preview, preview_delivery, render_preview, stored_render  # noqa: F401
from postbot.app.planning import (Planned, PlannedShare, add_planned, add_with_reshares, plan,  # noqa: F401
                                  plan_reshares, preview_reshares, queue)
from postbot.app.decisions import cancel, list_deliveries, mark_published, reschedule, retry, show  # noqa: F401
from postbot.app.week import Week, calendar  # noqa: F401
from postbot.app.health import ChannelStatus, Status, check_channels, daemons, status  # noqa: F401
from postbot.app.publishing import (EXIT_NEEDS_YOU, EXIT_PUBLISHED, EXIT_RETRYING, Due, RunOnce,  # noqa: F401
                                    daemon, due_now, run_once, serve)
from postbot.app.connecting import ConnectResult, connect  # noqa: F401
# Feeds: the use cases live beside the poller; a face calls them from here.
from postbot.sources.feeds import FeedCheck, add_feed, check_feed, find_feed, list_feeds, remove_feed  # noqa: F401
