"""A blog's feeds on 127.0.0.1: RSS 2.0, RSS 1.0, Atom and JSON Feed documents shaped like the ones
WordPress, Blogger/Jekyll and micro.blog publish, built from a list of items a test can change
between polls (add, re-order, edit, change a guid).

Like a real web server it sends ETag and Last-Modified, answers a matching If-None-Match or
If-Modified-Since with 304 and no body, and can be told to answer 429 with Retry-After or to
send Cache-Control. Every request is recorded (headers included)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

from tests.fakes.server import FakeServer, Reply, Request

UTC = timezone.utc
FORMATS = ("rss20", "rss10", "atom", "json")


@dataclass
class Item:
    guid: str
    title: str
    link: str
    html: str
    published: datetime
    image: str | None = None


@dataclass
class Blog:
    items: list[Item] = field(default_factory=list)        # newest first, as feeds list them
    modified: datetime = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    cache_control: str | None = None
    refuse: Reply | None = None                             # answer this instead (e.g. 429) while set
    conditional: bool = True                                # honour If-None-Match / If-Modified-Since
    send_etag: bool = True                                  # False: Last-Modified is the only validator

    def edit(self, index: int, **changes) -> None:
        self.items[index] = replace(self.items[index], **changes)
        self.touch()

    def add(self, item: Item) -> None:
        self.items.insert(0, item)
        self.touch()

    def touch(self) -> None:
        self.modified += timedelta(minutes=1)


def article(number: int, *, day: int | None = None, base: str = "https://blog.example.com") -> Item:
    published = datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(days=day if day is not None else number)
    slug = f"article-{number}"
    return Item(guid=f"{base}/?p={100 + number}", title=f"Article {number}: squats & hinges for busy dads",
                link=f"{base}/{slug}/",
                html=(f"<p>Article {number} opens with a <strong>clear</strong> point about training "
                      f"when time is short.</p><p>A second paragraph explains the <a href=\"{base}/plan\">"
                      f"plan</a>.</p><ul><li>Goblet squats</li><li>Romanian deadlifts</li></ul>"),
                published=published, image=f"{base}/wp-content/uploads/{slug}.jpg")


def document(blog: Blog, kind: str, base: str) -> tuple[bytes, str]:
    if kind == "rss20":
        return _rss20(blog, base), "application/rss+xml; charset=UTF-8"
    if kind == "rss10":
        return _rss10(blog, base), "application/rdf+xml"
    if kind == "atom":
        return _atom(blog, base), "application/atom+xml"
    return _json(blog, base), "application/feed+json"


def _rss20(blog: Blog, base: str) -> bytes:
    items = "".join(f"""
    <item>
      <title>{escape(i.title)}</title>
      <link>{escape(i.link)}</link>
      <dc:creator><![CDATA[Coach]]></dc:creator>
      <pubDate>{format_datetime(i.published)}</pubDate>
      <category><![CDATA[Uncategorized]]></category>
      <guid isPermaLink="false">{escape(i.guid)}</guid>
      <description><![CDATA[{i.html[:60]} [&#8230;]]]></description>
      <content:encoded><![CDATA[{i.html}]]></content:encoded>
      {f'<media:content url="{escape(i.image)}" medium="image"/>' if i.image else ''}
    </item>""" for i in blog.items)
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Dad Strength Blog</title>
  <atom:link href="{base}/feed/" rel="self" type="application/rss+xml" />
  <link>https://blog.example.com</link>
  <description>Strength for busy dads</description>
  <lastBuildDate>{format_datetime(blog.modified)}</lastBuildDate>
  <generator>https://wordpress.org/?v=6.7</generator>{items}
</channel>
</rss>""".encode()


def _rss10(blog: Blog, base: str) -> bytes:
    seq = "".join(f'<rdf:li rdf:resource="{escape(i.link)}"/>' for i in blog.items)
    items = "".join(f"""
<item rdf:about="{escape(i.guid)}">
  <title>{escape(i.title)}</title>
  <link>{escape(i.link)}</link>
  <description>{escape(i.html)}</description>
  <dc:date>{i.published.isoformat()}</dc:date>
</item>""" for i in blog.items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/index.rdf">
  <title>Dad Strength Blog</title><link>https://blog.example.com</link><description>Strength</description>
  <items><rdf:Seq>{seq}</rdf:Seq></items>
</channel>{items}
</rdf:RDF>""".encode()


def _atom(blog: Blog, base: str) -> bytes:
    entries = "".join(f"""
  <entry>
    <title type="html">{escape(i.title)}</title>
    <link href="{escape(i.link)}" rel="alternate" type="text/html"/>
    <published>{i.published.isoformat()}</published>
    <updated>{i.published.isoformat()}</updated>
    <id>{escape(i.guid)}</id>
    <content type="html" xml:base="https://blog.example.com/">{escape(i.html)}</content>
    <author><name>Coach</name></author>
    {f'<media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" url="{escape(i.image)}"/>' if i.image else ''}
  </entry>""" for i in blog.items)
    return f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
  <generator uri="https://jekyllrb.com/" version="4.3.4">Jekyll</generator>
  <link href="{base}/feed.xml" rel="self" type="application/atom+xml"/>
  <updated>{blog.modified.isoformat()}</updated>
  <id>{base}/feed.xml</id>
  <title type="html">Dad Strength Blog</title>{entries}
</feed>""".encode()


def _json(blog: Blog, base: str) -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Dad Strength Blog",
        "home_page_url": "https://blog.example.com/", "feed_url": f"{base}/feed.json",
        "items": [{"id": i.guid, "url": i.link, "title": i.title, "content_html": i.html,
                   "date_published": i.published.isoformat().replace("+00:00", "Z"),
                   **({"image": i.image} if i.image else {})} for i in blog.items]}).encode()


class FeedServer(FakeServer):
    """Serves `blog` at /feed/ (RSS 2.0), /index.rdf (RSS 1.0), /feed.xml (Atom), /feed.json."""

    PATHS = {"rss20": "/feed/", "rss10": "/index.rdf", "atom": "/feed.xml", "json": "/feed.json"}

    def __init__(self, blog: Blog | None = None):
        super().__init__()
        self.blog = blog or Blog()
        for kind, path in self.PATHS.items():
            self.route("GET", path, lambda request, kind=kind: self.serve(request, kind))

    def feed_url(self, kind: str = "rss20") -> str:
        return self.url + self.PATHS[kind]

    def serve(self, request: Request, kind: str) -> Reply:
        blog = self.blog
        if blog.refuse is not None:
            return blog.refuse
        body, content_type = document(blog, kind, self.url)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        headers = {"Content-Type": content_type, "Last-Modified": format_datetime(blog.modified, usegmt=True)}
        if blog.send_etag:
            headers["ETag"] = etag
        if blog.cache_control:
            headers["Cache-Control"] = blog.cache_control
        if blog.conditional and self._not_modified(request, etag if blog.send_etag else None, blog.modified):
            return Reply(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
        return Reply(200, body, headers)

    @staticmethod
    def _not_modified(request: Request, etag: str | None, modified: datetime) -> bool:
        # RFC 9110 13.1.3: If-None-Match wins; If-Modified-Since only counts without it.
        if "if-none-match" in request.headers:
            return etag in [tag.strip() for tag in request.headers["if-none-match"].split(",")]
        if "if-modified-since" in request.headers:
            from email.utils import parsedate_to_datetime
            try:
                return modified <= parsedate_to_datetime(request.headers["if-modified-since"])
            except (TypeError, ValueError):
                return False
        return False

    def gets(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET"]
