"""Preview: a post rendered for its channels exactly as it would be queued, and queued deliveries as stored."""
from __future__ import annotations

from dataclasses import dataclass, field

from postbot.app.channels import channel_rules, select_channels
from postbot.config import Settings
from postbot.errors import ConfigError, RenderError, UsageError
from postbot.models import Channel, Delivery, Post, Render
from postbot.platforms import make_rules
from postbot.platforms.base import Rules
from postbot.render import Renderer


@dataclass
class Preview:
    post: Post
    renders: list[Render]
    failures: list[str] = field(default_factory=list)      # one RenderError message per channel that cannot fit
    warnings: list[str] = field(default_factory=list)      # the post's own, then the channels' limits

    @property
    def ok(self) -> bool:
        return not self.failures


def preview(settings: Settings, store, post: Post, channel_names: list[str] | None = None,
            renderer: Renderer | None = None) -> Preview:
    """Render `post` for each channel exactly as `queue` would, without queueing anything."""
    channels = select_channels(settings, channel_names, post)
    rules, limit_warnings = channel_rules(channels, store)
    renderer = renderer or Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    return render_preview(post, channels, rules, renderer, limit_warnings)


def render_preview(post: Post, channels: list[Channel], rules: dict[str, Rules], renderer: Renderer,
                   limit_warnings: list[str] = ()) -> Preview:
    """`post` rendered for each channel with the given rules; a channel it cannot fit is a failure."""
    renders, failures = [], []
    for channel in channels:
        try:
            renders.append(renderer.render(post, channel, rules[channel.name]))
        except RenderError as exc:
            failures.append(str(exc))
    return Preview(post, renders, failures, list(post.warnings) + list(limit_warnings))


def find_delivery(store, delivery_id: int) -> Delivery:
    delivery = store.get(delivery_id)
    if delivery is None:
        raise UsageError(f"no delivery with id {delivery_id}; see `postbot list`")
    return delivery


def preview_delivery(store, delivery_id: int) -> tuple[Delivery, dict]:
    """A queued delivery as the daemon will send it, and the snapshot of its post."""
    delivery = find_delivery(store, delivery_id)
    return delivery, store.post_snapshot(delivery.post_id)



def stored_render(settings: Settings, store, delivery: Delivery) -> Render:
    """A queued delivery as a Render of exactly its stored parts (nothing re-rendered), counted against
    its channel's limit, with the fold where the platform folds: what a preview card shows."""
    from postbot.models import Part
    from postbot.platforms.base import Prepared

    try:
        rules = make_rules(settings.channel(delivery.channel), store=store)
    except ConfigError:            # the channel was removed from the settings since: its platform's rules
        rules = None
    head = delivery.parts[0] if delivery.parts else Part("", 0, {})
    limit = rules.limit_for(None) if rules else 0
    fold = rules.fold_index(Prepared(head.text, head.links)) if rules and len(delivery.parts) == 1 else None
    parts = list(delivery.parts)
    return Render(delivery.channel, delivery.platform, head.text, head.length, limit,
                  fits=not limit or all(p.length <= limit for p in parts), truncated=False,
                  links=list(head.links), warnings=[], payload=head.payload, fold=fold, parts=parts)
