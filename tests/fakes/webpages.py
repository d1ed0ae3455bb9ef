"""A web site for link cards: article pages with Open Graph tags and the pictures they name.

Pages are added with `site.page(path, html)` and pictures with `site.picture(path, data)`;
every fetch is recorded in `site.requests` (FakeServer), so tests see exactly what the
bot downloaded (and that it stripped tracking parameters)."""
from __future__ import annotations

import html
import io

from tests.fakes.server import FakeServer, Reply


def png(width: int, height: int, noise: bool = False, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A PNG; with noise it does not compress, so a few hundred pixels square is megabytes."""
    from PIL import Image
    if noise:
        import os
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def og_page(title: str, description: str | None = None, image: str | None = None,
            html_title: str | None = None) -> str:
    tags = [f'<meta property="og:title" content="{html.escape(title)}">'] if title else []
    if description is not None:
        tags.append(f'<meta property="og:description" content="{html.escape(description)}">')
    if image is not None:
        tags.append(f'<meta property="og:image" content="{html.escape(image)}">')
    head_title = f"<title>{html.escape(html_title)}</title>" if html_title else ""
    return (f"<!doctype html><html><head><meta charset=\"utf-8\">{head_title}{''.join(tags)}</head>"
            f"<body><p>The article.</p></body></html>")


class WebSite(FakeServer):
    def page(self, path: str, body: str, status: int = 200) -> str:
        self.route("GET", path, lambda request: Reply(status, body.encode(),
                                                      {"Content-Type": "text/html; charset=utf-8"}))
        return self.url + path

    def picture(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        self.route("GET", path, lambda request: Reply(200, data, {"Content-Type": content_type}))
        return self.url + path

    def fetched(self, path: str) -> list:
        return [r for r in self.requests if r.path == path]
