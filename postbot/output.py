"""What the faces show: the stable JSON shapes and the terminal text. Formatting only: no I/O.

JSON first, text from the JSON, so `--json` and the text never disagree.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postbot import output_sources as sources
from postbot.models import Attempt, Delivery, Part, iso_utc

if TYPE_CHECKING:  # pragma: no cover
    from postbot.app import Due, Preview, RunOnce, Status


def preview_json(preview: "Preview") -> dict[str, Any]:
    post = preview.post
    return {"post": {"title": post.title, "slug": post.slug, "source": post.source, "warnings": preview.warnings},
            "renders": [r.to_dict() for r in preview.renders]}


def preview_text(data: dict[str, Any], settings=None) -> str:
    lines = [f"{data['post']['title']}  ({data['post']['slug']})"]
    for warning in data["post"]["warnings"]:
        lines.append(f"  ! {warning}")
    for render in data["renders"]:
        status = "fits" if render["fits"] else "TOO LONG"
        cut = ", teaser cut" if render["truncated"] else ""
        lines.append("")
        lines.append(f"── {render['channel']} ({render['platform']}) {render['length']}/{render['limit']} "
                     f"{status}{cut} " + "─" * 20)
        parts = render.get("parts") or [{"text": render["text"]}]
        for index, part in enumerate(parts):
            if len(parts) > 1:
                lines.append(f"  [part {index + 1}/{len(parts)}, {part['length']}]")
            text = part["text"]
            fold = render.get("fold") if index == 0 else None
            if fold is not None:
                text = text[:fold] + "⟨… see more⟩" + text[fold:]
            lines.extend("  │ " + line for line in text.split("\n"))
        for link in render["links"]:
            lines.append(f"  → {link}")
        tags_line = hashtags_summary(render.get("hashtags") or [])
        if tags_line:
            lines.append(f"  # {tags_line}")
        for warning in render["warnings"]:
            lines.append(f"  ! {warning}")
    return "\n".join(lines)


def hashtags_summary(decisions: list[dict[str, Any]]) -> str:
    """Which tags the platform links, which it shows as plain text, which were left out."""
    def shown(d: dict[str, Any]) -> str:
        return f"#{d['text']}" + ("" if d["text"] == d["tag"] else f" (from {d['tag']})")
    groups = [("clickable", [shown(d) for d in decisions if d["clickable"]]),
              ("plain text", [shown(d) for d in decisions if d["text"] is not None and not d["clickable"]]),
              ("left out", [d["tag"] for d in decisions if d["text"] is None])]
    return " · ".join(f"{name}: {', '.join(items)}" for name, items in groups if items)


def local(moment: datetime | None, settings, seconds: bool = True) -> str:
    """A moment in the configured zone, as people read it: 2026-12-01 09:00:00 GMT."""
    if moment is None:
        return "-"
    return moment.astimezone(settings.zone()).strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


_ISO_UTC = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|\+00:00)")


def local_iso(value: str | None, settings) -> str:
    """An ISO time from the JSON shapes (UTC), in the configured zone."""
    if not value:
        return "-"
    return local(datetime.fromisoformat(value.replace("Z", "+00:00")), settings)


def local_times_in(text: str, settings) -> str:
    """Stored messages keep UTC ('retrying at 2026-12-01T09:00:00+00:00: ...'); people read local time."""
    return _ISO_UTC.sub(lambda m: local_iso(m.group(0), settings), text) if settings else text


TABLE_HEADER = ("ID", "DUE", "POST", "CHANNEL", "STATE", "TRIES", "RESULT")
POST_WIDTH = (12, 32)       # the POST column gives way first when the terminal is narrow
RESULT_MIN_WIDTH = 24


def deliveries_table(deliveries: list[Delivery], settings, width: int | None = None) -> str:
    """One row per delivery; RESULT wraps at word ends to fit `width` (None: never wrap, for pipes)."""
    if not deliveries:
        return "no deliveries"
    import textwrap
    rows = [TABLE_HEADER]
    for d in deliveries:
        channel = d.channel if d.channel == d.platform else f"{d.channel} ({d.platform})"
        result = d.remote_url or d.remote_id or local_times_in(d.error or "", settings)
        rows.append((str(d.id), local(d.due_at, settings, seconds=False), d.post_slug, channel, d.state.value,
                     str(d.attempts), result))
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER) - 1)]
    post = TABLE_HEADER.index("POST")
    widths[post] = min(widths[post], POST_WIDTH[1])
    room, indent = None, sum(widths) + 2 * len(widths)
    if width is not None:
        fixed = indent - widths[post]
        widths[post] = max(min(widths[post], width - fixed - RESULT_MIN_WIDTH), min(POST_WIDTH[0], widths[post]))
        indent = fixed + widths[post]
        room = width - indent
        if room < RESULT_MIN_WIDTH:
            # Too narrow for a RESULT column: it goes under its row instead, across the width.
            indent, room = 4, max(RESULT_MIN_WIDTH, width - 4)
    lines = []
    for row in rows:
        cells = [_fit(cell, w) for cell, w in zip(row, widths)]
        head = "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + "  "
        # Whole words only: a URL or an id is never cut, a long one may run past the edge.
        wrapped = textwrap.wrap(row[-1], room, break_long_words=False, break_on_hyphens=False) if room else [row[-1]]
        if indent == 4 and room:
            lines.append(head.rstrip())
            lines.extend(" " * indent + more for more in wrapped if row is not rows[0])
            continue
        lines.append((head + (wrapped[0] if wrapped else "")).rstrip())
        lines.extend(" " * indent + more for more in wrapped[1:])
    return "\n".join(lines)


def _fit(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[:width - 1] + "…"


def show_json(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    return delivery.to_json() | {"attempts_log": [a.to_json() for a in attempts], "parts": [p.to_json() for p in delivery.parts]}


def delivery_text(data: dict[str, Any], settings) -> str:
    lines = [f"delivery {data['id']}: {data['post']} -> {data['channel']} ({data['platform']})",
             f"  due      {local_iso(data['due_at'], settings)}",
             f"  state    {data['state']}  (attempts {data['attempts']})"]
    if data["remote_url"] or data["remote_id"]:
        lines.append(f"  remote   {data['remote_url'] or data['remote_id']}")
    if data["error"]:
        lines.append(f"  error    {local_times_in(data['error'], settings)}")
    for attempt in data["attempts_log"]:
        lines.append(f"  attempt  {local_iso(attempt['at'], settings)} {attempt['outcome']} "
                     f"status={attempt['status']} {attempt['latency_ms'] or ''}ms "
                     f"{local_times_in(attempt['error'] or '', settings)}")
    for index, part in enumerate(data["parts"]):
        lines.append(f"  text{f' {index + 1}' if len(data['parts']) > 1 else ''}:")
        lines.extend("  │ " + line for line in part["text"].split("\n"))
    return "\n".join(lines)


def delivery_preview(delivery: Delivery, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Exactly what the daemon will send, from the stored snapshot."""
    head = delivery.parts[0] if delivery.parts else Part("", 0, {})
    render = {"channel": delivery.channel, "platform": delivery.platform, "text": head.text,
              "length": head.length, "links": head.links, "payload": head.payload,
              "state": delivery.state.value, "due_at": delivery.to_json()["due_at"], "id": delivery.id}
    if len(delivery.parts) > 1:
        render["parts"] = [p.to_json() for p in delivery.parts]
    return {"post": {"title": snapshot.get("title"), "slug": snapshot.get("slug"),
                     "warnings": snapshot.get("warnings", [])}, "renders": [render]}


def delivery_preview_text(data: dict[str, Any], settings=None) -> str:
    render = data["renders"][0]
    due = local_iso(render["due_at"], settings) if settings else render["due_at"]
    lines = [f"delivery {render['id']} -> {render['channel']} ({render['platform']}), {render['state']}, "
             f"due {due}"]
    for index, part in enumerate(render.get("parts") or [render]):
        if "parts" in render:
            lines.append(f"  [part {index + 1}/{len(render['parts'])}]")
        lines.extend("  │ " + line for line in part["text"].split("\n"))
    return "\n".join(lines)


def status_json(status: "Status") -> dict[str, Any]:
    return {
        "channels": [{"name": c.name, "kind": c.kind, "platform": c.platform, "ready": c.ready,
                      "detail": c.detail, "warnings": c.warnings} for c in status.channels],
        "counts": status.counts,
        "next_due": iso_utc(status.next_due),
        "recent_failures": [d.to_json() for d in status.recent_failures],
        "unknown": [d.to_json() for d in status.unknown],
        "holds": {c: {"until": u.isoformat(), "reason": r} for c, (u, r) in status.holds.items()},
        "daemons": [{"worker": w, "last_heartbeat": iso_utc(at), "alive": alive} for w, at, alive in status.daemons],
        "alerts": alerts_json(status.alerts) if status.alerts else None,
        **sources.status_json(status),
    }


def alerts_json(alerts) -> dict[str, Any]:
    return {"channels": list(alerts.channels), "pending": [e.to_json() for e in alerts.pending],
            "next_digest_at": iso_utc(alerts.next_digest_at),
            "sending": [d.to_json() for d in alerts.sending], "failed": [d.to_json() for d in alerts.failed]}


def alerts_text(data: dict[str, Any] | None, when) -> list[str]:
    """A line or two: where alerts go, what waits for a digest, which digests did not go out."""
    if not data:
        return []
    line = f"alerts: to {', '.join(data['channels'])}"
    if data["pending"]:
        line += f"; {len(data['pending'])} waiting for the next digest (at {when(data['next_digest_at'])})"
    if data["sending"]:
        line += f"; {len(data['sending'])} digest(s) being sent"
    lines = [line]
    lines.extend(f"  alert #{d['id']} to {d['channel']} {d['state']}: {d['error'] or ''}" for d in data["failed"][:5])
    return lines


def status_text(data: dict[str, Any], settings=None) -> str:
    lines = ["channels:"]
    for c in data["channels"]:
        mark = "ready" if c["ready"] else "NOT READY"
        lines.append(f"  {c['name']:<12} {c['kind']:<9} renders as {c['platform']:<10} {mark}  {c['detail']}")
        for warning in c.get("warnings", []):
            lines.append(f"  {'':<12} ! {warning}")
    lines.append("queue: " + ", ".join(f"{k} {v}" for k, v in data["counts"].items()))
    when = (lambda value: local_iso(value, settings)) if settings else (lambda value: value or "-")
    lines.append(f"next due: {when(data['next_due'])}")
    alive = [d for d in data.get("daemons", []) if d["alive"]]
    lines.append("daemon: " + (", ".join(f"{d['worker']} running" for d in alive) if alive
                               else "none running: nothing is published until `postbot run` runs"))
    lines.extend(alerts_text(data.get("alerts"), when))
    for channel, hold in data["holds"].items():
        lines.append(f"held: {channel} until {when(hold['until'])} ({hold['reason']})")
    if data["recent_failures"]:
        lines.append("recent failures:")
        lines.extend(f"  #{d['id']} {d['channel']}: {local_times_in(d['error'] or '', settings)}"
                     for d in data["recent_failures"])
    if data["unknown"]:
        lines.append("need a decision (may or may not have been published):")
        lines.extend(f"  #{d['id']} {d['channel']}: {local_times_in(d['error'] or '', settings)}"
                     for d in data["unknown"])
    if settings is not None:
        lines.append(sources.status_text(data, settings))
    return "\n".join(line for line in lines if line)


def dry_run_text(due: "Due", settings) -> str:
    if not due.deliveries:
        return f"nothing due now; next at {local(due.next_at, settings)}" if due.next_at else "nothing queued"
    lines = [f"{len(due.deliveries)} due now; would send:"]
    for d in due.deliveries:
        lines.append(f"  #{d.id} -> {d.channel} ({d.platform}):")
        for part in d.parts:
            lines.extend("    │ " + line for line in part.text.split("\n"))
    return "\n".join(lines)


def run_once_text(result: "RunOnce") -> str:
    others = [f"{result.outcomes[key]} {label}" for key, label in
              (("retry", "to retry"), ("rate_limited", "rate limited"), ("failed", "failed"), ("unknown", "unknown"))
              if result.outcomes.get(key)]
    text = "".join(line + "\n" for line in result.sources) + (
        f"published {result.published}{''.join(', ' + o for o in others)}; queue now: "
        + ", ".join(f"{state} {count}" for state, count in sorted(result.counts.items())))
    if result.outcomes.get("failed") or result.outcomes.get("unknown"):
        text += "\nsome deliveries need you: see `postbot status`"
    return text


def reshares_json(shares: list, stopped: str | None) -> dict[str, Any]:
    """`preview --repeats`: the first post and each re-share, with its times and texts per channel."""
    return {"shares": [{"number": share.number, "due": {c: iso_utc(d) for c, d in share.due.items()}}
                       | preview_json(share.preview) for share in shares], "stopped": stopped}


def reshares_text(data: dict[str, Any], settings) -> str:
    lines = []
    for share in data["shares"]:
        what = "first post" if share["number"] == 0 else f"re-share {share['number']}"
        due = ", ".join(f"{channel} {local_iso(when, settings)}" for channel, when in share["due"].items())
        lines.append(f"══ {what}: {due}")
        lines.append(preview_text(share, settings))
        lines.append("")
    if data["stopped"]:
        lines.append(f"repeat stops early: {data['stopped']}")
    return "\n".join(lines).rstrip()
