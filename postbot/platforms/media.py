"""A post's image and link card as the senders need them: where the image is, whether a platform can
take it, its bytes fitted to a size cap, and the Open Graph card of a linked page.

A local image is named relative to the post file and read only when publishing, so a file that has
gone since queueing is a rejection naming the fix, not a crash; it is checked again then
(postbot/local_images.py). Remote fetches go through postbot/remote_fetch.py (no SSRF). Nothing heavy is imported at module
level: rendering imports the platform modules, and they import this.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from postbot.errors import Rejected, Retryable
from postbot.models import Post

PAGE_MAX_BYTES = 1_000_000              # Open Graph tags live in <head>: the first MB is plenty
DOWNLOAD_MAX_BYTES = 20_000_000         # an image bigger than this is not worth shrinking
FETCH_TIMEOUT_SECONDS = 10.0
KEEP_AS_IS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


# ---- where the image is ------------------------------------------------------------------------
def is_remote(image: str) -> bool:
    """An http(s) URL (fetched when publishing), not a file; the scheme in any case (RFC 3986)."""
    return image[:8].lower().startswith(("http://", "https://"))


def image_source(post: Post) -> str:
    """A local image is read relative to the post file; URLs are fetched when publishing."""
    image = post.image or ""
    if not image or is_remote(image) or Path(image).is_absolute():
        return image
    return str(Path(post.source).resolve().parent / image)


def not_found(post: Post) -> str:
    return f"image {post.image!r} not found (read relative to {post.source}); fix the image: line"


def mime_type(name: str) -> str:
    import mimetypes
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def local_image_refusal(post: Post, path: str, *, platform: str, max_bytes: int | None = None,
                        size: str = "", suffixes: tuple[str, ...] = (), kinds: str = "") -> str | None:
    """Why a local image at `path` cannot be uploaded to `platform`: gone, too big (over `size`, e.g.
    "10 MB upload"), or not one of `suffixes` (described as `kinds`). None for a URL or a good file."""
    if not post.image or is_remote(post.image):
        return None
    file = Path(path)
    if suffixes and file.suffix.lower() not in suffixes:
        return f"image {post.image!r}: {platform} takes {kinds} images; convert it"
    if not file.is_file():
        return not_found(post)
    if max_bytes is not None and file.stat().st_size > max_bytes:
        return f"image {post.image!r} is over {platform}'s {size} limit; use a smaller file"
    return None


def public_image_url(image: str, base_url: str | None) -> str | None:
    """A URL a platform that fetches images itself can use: remote images as they are, local files
    under <NAME>_IMAGE_BASE_URL by file name (upload the file there yourself)."""
    if is_remote(image):
        return image
    if not base_url:
        return None
    name = image.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{base_url.rstrip('/')}/{quote(name)}"


def needs_public_url(image: str, platform: str, base_var: str) -> str:
    """The refusal for a local image on a platform that fetches images by URL."""
    return (f"the image {image} is a local file and {platform} fetches images by URL; upload it "
            f"and set {base_var} to that public folder, or use an https:// image URL")


# ---- the image's bytes -----------------------------------------------------------------------------
def read_local_image(path: str, platform: str = "") -> bytes:
    """The file's bytes, checked again (no symlink since queueing, bytes still the claimed image
    type: postbot/local_images.py); a file that fails is Rejected before anything was sent."""
    from postbot.local_images import ImageRefused, read_checked
    try:
        return read_checked(path)[0]
    except ImageRefused as exc:
        where = f"{platform}: " if platform else ""
        raise Rejected(f"{where}{exc}", sent=False) from None


async def read_image(client, source: str, policy=None) -> tuple[bytes, str, str]:
    """(bytes, file name, MIME type) of a local file or an http(s) URL, for an upload; URLs are
    fetched under `policy` (postbot/remote_fetch.py). Nothing has been posted yet, so every
    failure here says `sent=False`."""
    from postbot.local_images import MIME_OF, ImageRefused, read_checked
    from postbot.remote_fetch import FetchFailed, FetchPolicy, FetchRefused, fetch_image
    if not is_remote(source):
        try:
            data, found = read_checked(source)
        except ImageRefused as exc:
            raise Rejected(str(exc), sent=False) from None
        return data, Path(source).name, MIME_OF[found]
    try:
        return await fetch_image(client, source, policy or FetchPolicy())
    except FetchRefused as exc:
        raise Rejected(f"image: {exc}; fix the image: line", sent=False) from None
    except FetchFailed as exc:
        raise Retryable(f"image download: {exc}", sent=False) from None


async def image_for_upload(client, source: str, max_bytes: int, *, remote_only: bool = False,
                           policy=None) -> tuple[bytes, str, int, int]:
    """(bytes, mime, width, height) of the image at `source`, fitted to `max_bytes` without EXIF.
    With `remote_only` (a card's picture) every failure is CardUnavailable: the post goes without it."""
    if is_remote(source):
        try:
            data = await fetch(client, source, DOWNLOAD_MAX_BYTES, accept="image/*", policy=policy)
        except CardUnavailable as exc:
            if remote_only:
                raise
            if isinstance(exc, FetchForbidden):
                raise Rejected(f"image: {exc}; fix the image: line", sent=False) from None
            # Perhaps the image host is down for a moment: retried, and failed after the last attempt.
            raise Retryable(f"image: {exc}; check the image: line if this persists", sent=False) from None
    elif remote_only:
        raise CardUnavailable(f"{source} is not an http(s) address")
    else:
        data = read_local_image(source)
    try:
        return fit_image(data, max_bytes)
    except ValueError as exc:
        if remote_only:
            raise CardUnavailable(str(exc)) from None
        raise Rejected(f"image {source}: {exc}", sent=False) from None


def fit_image(data: bytes, max_bytes: int) -> tuple[bytes, str, int, int]:
    """The image unchanged when it is small, common and carries no EXIF (which may hold a
    location); else re-encoded as JPEG, scaled down until it fits."""
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not an image Pillow can read ({type(exc).__name__})") from None
    mime = KEEP_AS_IS.get(image.format or "")
    has_exif = bool(image.info.get("exif")) or bool(image.getexif())
    if mime and not has_exif and len(data) <= max_bytes:
        return data, mime, image.width, image.height
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    scale, quality = 1.0, 88
    while True:
        candidate = image if scale == 1.0 else image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
        out = io.BytesIO()
        candidate.save(out, format="JPEG", quality=quality, optimize=True)
        if out.tell() <= max_bytes:
            return out.getvalue(), "image/jpeg", candidate.width, candidate.height
        if quality > 72:
            quality -= 8
        else:
            scale *= 0.8


# ---- link cards: a page's Open Graph tags ------------------------------------------------------------
class CardUnavailable(Exception):
    """A page or picture that cannot be fetched: the post goes out without it."""


class FetchForbidden(CardUnavailable):
    """Refused by the fetch policy or by what came back: retrying will not help."""


class Page:
    def __init__(self, url: str, text: str):
        self.url, self.text = url, text


async def fetch(client, url: str, max_bytes: int, accept: str, policy=None) -> Any:
    """An image's bytes, or a Page (its final URL and text), fetched under the fetch policy
    (postbot/remote_fetch.py): public http(s) addresses only, every redirect checked, a size cap
    and a total deadline. A page larger than the cap keeps its head."""
    from postbot.remote_fetch import FetchFailed, FetchPolicy, FetchRefused
    from postbot.remote_fetch import fetch as fetch_checked

    policy = policy or FetchPolicy()
    is_image = accept.startswith("image")
    bounded = FetchPolicy(policy.allowed_networks, max_bytes=max_bytes,
                          deadline=min(policy.deadline, FETCH_TIMEOUT_SECONDS * 2))
    try:
        fetched = await fetch_checked(client, url, bounded, accept=accept, truncate=not is_image)
    except FetchRefused as exc:
        raise FetchForbidden(str(exc)) from None
    except FetchFailed as exc:
        raise CardUnavailable(str(exc)) from None
    if is_image:
        return fetched.content
    encoding = fetched.encoding or "utf-8"
    try:
        text = fetched.content.decode(encoding, errors="replace")
    except LookupError:
        text = fetched.content.decode("utf-8", errors="replace")
    return Page(fetched.url, text)


def parse_page(html: str, base_url: str) -> dict[str, str]:
    """og:title, og:description and og:image (absolute), falling back to <title> and the description meta."""
    from html.parser import HTMLParser

    found: dict[str, str] = {}
    title_parts: list[str] = []

    class Reader(HTMLParser):
        in_title = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = {k.lower(): (v or "") for k, v in attrs}
            if tag == "meta":
                name = (values.get("property") or values.get("name") or "").strip().lower()
                if name in ("og:title", "og:description", "og:image", "og:image:url", "og:image:secure_url",
                            "description") and name not in found and values.get("content", "").strip():
                    found[name] = values["content"].strip()
            elif tag == "title":
                self.in_title = True

        def handle_endtag(self, tag: str) -> None:
            if tag == "title":
                self.in_title = False

        def handle_data(self, data: str) -> None:
            if self.in_title:
                title_parts.append(data)

    reader = Reader(convert_charrefs=True)
    reader.feed(html)
    reader.close()
    image = found.get("og:image:secure_url") or found.get("og:image") or found.get("og:image:url") or ""
    title = found.get("og:title") or " ".join("".join(title_parts).split())
    return {"title": title[:300], "description": (found.get("og:description") or found.get("description") or "")[:1000],
            "image": urljoin(base_url, image) if image else ""}
