"""Feed documents -> items, and items -> posts.

RSS 0.9x/1.0/2.0 and Atom are parsed by feedparser, which copes with the broken feeds found in
the wild (wrong encodings, undeclared entities, relative links). feedparser 6 does not read JSON
Feed; a JSON Feed is plain JSON whose few fields (https://www.jsonfeed.org/version/1.1/) are
mapped here onto the same item shape. Both libraries are imported on first use only.

An item's HTML becomes Markdown (markdownify) and then plain text by the same converter post
files use, so a feed item and a post file with the same article render the same teaser.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from postbot.errors import UsageError
from postbot.models import CTA, Post

UTC = timezone.utc
# Query parameters that only say where a click came from: the same article with other values is
# the same article.
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|ref|source)$", re.I)


@dataclass
class FeedItem:
    guid: str
    title: str
    link: str | None = None
    html: str = ""                      # content, else summary, as HTML
    image: str | None = None
    image_alt: str | None = None
    published: datetime | None = None
    tags: list[str] = field(default_factory=list)
    position: int = 0                   # place in the document; feeds list newest first by convention

    def key(self) -> dict[str, Any]:
        """What the store keeps: the two dedupe keys and everything needed to make the post later."""
        item = {"guid": self.guid, "title": self.title, "link": self.link, "html": self.html,
                "image": self.image, "image_alt": self.image_alt, "tags": self.tags,
                "published": self.published.isoformat() if self.published else None}
        return {"guid": self.guid, "link": normalise_link(self.link) if self.link else None,
                "title": self.title, "item": item}


@dataclass
class ParsedFeed:
    title: str
    kind: str                           # rss20, rss10, atom10, json11, ...
    items: list[FeedItem]               # oldest first

    def newest(self, count: int) -> list[FeedItem]:
        return self.items[-count:] if count > 0 else []


def normalise_link(url: str) -> str:
    """One spelling per article: https, lower-case host, no default port, no fragment, no tracking
    parameters, sorted query, no trailing slash. Percent-encoding is made canonical by w3lib."""
    from w3lib.url import canonicalize_url
    try:
        parts = urlsplit(canonicalize_url(url.strip(), keep_fragments=False))
    except ValueError:
        return url.strip()
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, host, path, query, ""))


def parse_feed(body: bytes, *, url: str, content_type: str = "") -> ParsedFeed:
    """Any supported feed document -> its items, oldest first. UsageError when it is not a feed."""
    head = body.lstrip()[:1]
    if "json" in content_type.lower() or head in (b"{", b"["):
        return _json_feed(body, url)
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": url,
                                                      "content-type": content_type or "application/xml"})
    if not parsed.version and not parsed.entries:
        reason = getattr(parsed.get("bozo_exception"), "getMessage", lambda: "")() or \
            str(parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed document found")
        raise UsageError(f"{url} is not a feed ({reason}); give the address of the RSS, Atom or JSON Feed "
                         f"document (often /feed, /rss.xml or /atom.xml)")
    items = [_xml_item(entry, index) for index, entry in enumerate(parsed.entries)]
    return ParsedFeed(title=parsed.feed.get("title", "") or url, kind=parsed.version or "unknown",
                      items=_oldest_first(items))


def _xml_item(entry: Any, position: int) -> FeedItem:
    contents = entry.get("content") or []
    html_parts = [c.get("value", "") for c in contents if "html" in (c.get("type") or "") or c.get("value")]
    html = html_parts[0] if html_parts else entry.get("summary", "")
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    link = entry.get("link") or None
    title = (entry.get("title") or "").strip()
    guid = entry.get("id") or link or _digest(title, html)
    return FeedItem(guid=str(guid), title=title, link=link, html=html, image=_xml_image(entry),
                    published=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None,
                    tags=[t.get("term") for t in entry.get("tags", []) if t.get("term")], position=position)


def _xml_image(entry: Any) -> str | None:
    for media in entry.get("media_content", []):
        if media.get("url") and (media.get("medium") == "image" or (media.get("type") or "").startswith("image/")):
            return media["url"]
    for enclosure in entry.get("enclosures", []):
        if enclosure.get("href") and (enclosure.get("type") or "").startswith("image/"):
            return enclosure["href"]
    for thumbnail in entry.get("media_thumbnail", []):
        if thumbnail.get("url"):
            return thumbnail["url"]
    return None


def _json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{url} is not a feed (invalid JSON: {exc})") from None
    version = str(document.get("version", "")) if isinstance(document, dict) else ""
    if not version.startswith("https://jsonfeed.org/version/"):
        raise UsageError(f"{url} is JSON but not a JSON Feed (no https://jsonfeed.org/version/ in 'version')")
    items = []
    for index, entry in enumerate(document.get("items") or []):
        if not isinstance(entry, dict):
            continue
        html = entry.get("content_html") or ""
        if not html and entry.get("content_text"):
            from html import escape
            html = "".join(f"<p>{escape(p.strip())}</p>" for p in str(entry["content_text"]).split("\n\n")
                           if p.strip())
        html = html or entry.get("summary") or ""
        link = entry.get("url") or entry.get("external_url") or None
        title = str(entry.get("title") or "").strip()
        items.append(FeedItem(guid=str(entry.get("id") or link or _digest(title, html)), title=title, link=link,
                              html=html, image=entry.get("image") or entry.get("banner_image") or None,
                              published=_iso(entry.get("date_published") or entry.get("date_modified")),
                              tags=[str(t) for t in entry.get("tags") or []], position=index))
    return ParsedFeed(title=str(document.get("title") or url), kind="json" + version.rsplit("/", 1)[-1].replace(".", ""),
                      items=_oldest_first(items))


def _iso(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _oldest_first(items: list[FeedItem]) -> list[FeedItem]:
    """By date where every item has one; else the reverse of document order (newest first is the
    convention of RSS, Atom and JSON Feed alike)."""
    if items and all(i.published for i in items):
        return sorted(items, key=lambda i: (i.published, -i.position))
    return sorted(items, key=lambda i: -i.position)


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


# ---- items -> posts --------------------------------------------------------------------------------
def html_to_text(html: str, cta_urls: set[str], warnings: list[str], where: str) -> str:
    """HTML -> Markdown -> the plain-text paragraphs a post body is made of."""
    if not html.strip():
        return ""
    from markdownify import markdownify

    from postbot.posts.markdown import MarkdownText

    markdown = markdownify(html, heading_style="ATX", bullets="*", strip=["script", "style", "iframe"])

    def warn(message: str, line: int | None) -> None:
        warnings.append(f"{where}: {message}")
    blocks, heading = MarkdownText(cta_urls, warn, 1).convert(markdown)
    if heading:
        blocks.insert(0, heading)
    return "\n\n".join(blocks)


def item_post(item: dict[str, Any], *, source: str, ctas: list[CTA], teaser: str = "body",
              tags: list[str] | None = None) -> Post:
    """The post a stored feed item makes: its title, link, text and picture, the feed's CTAs and tags
    (an item's own categories are not used: blogs file posts under 'Uncategorized')."""
    from postbot.posts import slugify

    warnings: list[str] = []
    where = f"{source} item {item.get('link') or item['guid']}"
    body = html_to_text(item.get("html") or "", {c.url for c in ctas}, warnings, where)
    title = item.get("title") or (body.split("\n", 1)[0][:70] if body else "")
    if not body and not title:
        raise UsageError(f"{where}: the item has neither a title nor any text")
    post_teaser = title if teaser == "title" else None
    published = item.get("published")
    return Post(source=where, slug=slugify(title) or "item", title=title or body[:70], body=body or title,
                url=item.get("link"), date=published[:10] if published else None, teaser=post_teaser,
                ctas=list(ctas), tags=list(tags or []),
                image=item.get("image"), image_alt=item.get("image_alt") or (title if item.get("image") else None),
                warnings=warnings)
