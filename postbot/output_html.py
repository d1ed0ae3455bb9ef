"""`postbot preview --html FILE`: one self-contained page, a card per channel that looks like a
post on that platform, with its counter and the fold marked. No external assets."""
from __future__ import annotations

import html
import re
from pathlib import Path

from postbot.files import write_named_file
from postbot.models import Post, Render
from postbot.platforms import rules_class
from postbot.platforms.base import Rules

# A link ends before trailing punctuation and a closing bracket: "(see https://a.b/c)." links https://a.b/c.
_URL = re.compile(r"(https?://[^\s<]*[^\s<.,;:!?)\]'\"]|(?<![\w@/])[a-z0-9.-]+\.[a-z]{2,}/(?:[^\s<]*[^\s<.,;:!?)\]'\"])?)")

CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f3f4f6;margin:0;padding:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}.meta{color:#555;margin-bottom:16px}.warn{color:#9a3412}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:18px}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.15);overflow:hidden}
.card header{display:flex;align-items:center;gap:10px;padding:10px 14px;color:#fff}
.avatar{width:32px;height:32px;border-radius:50%;background:rgba(255,255,255,.3);display:grid;place-items:center;font-weight:700}
.card .body{padding:12px 14px;white-space:pre-wrap;word-wrap:break-word}
.fold{display:inline-block;margin:0 4px;padding:0 6px;border-radius:8px;background:#fde68a;color:#78350f;font-size:12px;white-space:nowrap}
.after-fold{color:#6b7280}
.counter{display:flex;justify-content:space-between;padding:8px 14px;border-top:1px solid #eee;font-size:13px;color:#374151}
.over{color:#b91c1c;font-weight:700}.ok{color:#047857}
.part{border-top:1px dashed #ddd}.links,.warnings{padding:0 14px 10px 30px;margin:0;font-size:13px;color:#374151}
.links li,.warnings li{overflow-wrap:anywhere;word-break:break-word}
.warnings li{color:#9a3412}a{color:#1d4ed8}
"""


def _rules(render: Render) -> type[Rules]:
    """The platform's Rules say how its text reads and how its card looks."""
    return rules_class(render.platform)


def _linkify(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0) if m.group(0).startswith("http") else "https://" + m.group(0)}">'
                              f'{m.group(0)}</a>', escaped)


def _body(render: Render, text: str, fold: int | None) -> str:
    rules = _rules(render)
    visible = rules.visible(text)
    if fold is not None:
        fold = rules.visible_fold(text, fold)
    if fold is None or fold >= len(visible):
        # Labels that are links in the platform's markup stay links in the picture.
        return "".join(_linkify(html.escape(piece)) if href is None else
                       f'<a href="{html.escape(href)}">{html.escape(piece)}</a>'
                       for piece, href in rules.visible_links(text))
    return (_linkify(html.escape(visible[:fold])) + '<span class="fold" title="the platform folds here">… see more</span>'
            + f'<span class="after-fold">{_linkify(html.escape(visible[fold:]))}</span>')


def card(render: Render) -> str:
    rules = _rules(render)
    color, fg, label = rules.color, "#ffffff", rules.label
    status = "ok" if render.fits else "over"
    parts = render.parts if len(render.parts) > 1 else []
    bodies = []
    if parts:
        for index, part in enumerate(parts):
            bodies.append(f'<div class="body part" data-part="{index + 1}">{_body(render, part.text, None)}</div>')
    else:
        bodies.append(f'<div class="body">{_body(render, render.text, render.fold)}</div>')
    links = "".join(f'<li><a href="{html.escape(u)}">{html.escape(u)}</a></li>' for u in render.links)
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in render.warnings)
    from postbot.output import hashtags_summary
    tags = hashtags_summary(render.hashtags)
    return (f'<article class="card" data-channel="{html.escape(render.channel)}" data-platform="{render.platform}" '
            f'data-length="{render.length}" data-limit="{render.limit}" data-fits="{str(render.fits).lower()}">'
            f'<header style="background:{color};color:{fg}"><div class="avatar">{label[0]}</div>'
            f'<div><strong>{html.escape(render.channel)}</strong><br><small>{label}</small></div></header>'
            + "".join(bodies)
            + f'<div class="counter"><span class="{status}">{render.length} / {render.limit}</span>'
              f'<span>{"teaser cut" if render.truncated else "full teaser"}'
              f'{f" · {len(parts)} parts" if parts else ""}</span></div>'
            + (f'<ul class="links">{links}</ul>' if links else "")
            + (f'<div class="links tags"># {html.escape(tags)}</div>' if tags else "")
            + (f'<ul class="warnings">{warnings}</ul>' if warnings else "")
            + "</article>")


def page(post: Post, renders: list[Render]) -> str:
    warnings = "".join(f'<div class="warn">⚠ {html.escape(w)}</div>' for w in post.warnings)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>postbot preview: {html.escape(post.title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(post.title)}</h1><div class=\"meta\">{html.escape(post.source)} · "
            f"{len(renders)} channels</div>{warnings}<main class=\"grid\">"
            + "".join(card(r) for r in renders) + "</main></body></html>\n")


def write_html(post: Post, renders: list[Render], path: Path) -> None:
    write_named_file(path, page(post, renders), "--html")
