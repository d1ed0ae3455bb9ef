"""A post's image as the adapters send it: where it is, its bytes, its name and type.

A local image is named relative to the post file and read only when publishing, so a file
that has gone since queueing is a rejection naming the fix, not a crash. Nothing heavy is
imported here: rendering imports the adapters, and they import this.
"""
from __future__ import annotations

from pathlib import Path

from postbot.errors import Rejected, Retryable, unsent
from postbot.models import Post


def is_remote(image: str) -> bool:
    return image.startswith(("http://", "https://"))


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


def read_local_image(path: str, platform: str = "") -> bytes:
    """The file's bytes; a file that cannot be read is Rejected before anything was sent."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        where = f"{platform}: " if platform else ""
        raise Rejected(f"{where}cannot read image {path} ({exc.strerror}); put the file back, then "
                       f"`postbot retry`", sent=False) from None


async def read_image(client, source: str) -> tuple[bytes, str, str]:
    """(bytes, file name, MIME type) of a local file or an http(s) URL, for an upload.
    Nothing has been posted yet, so every failure here says `sent=False`."""
    from postbot.platforms.outcomes import send
    if not is_remote(source):
        name = Path(source).name
        return read_local_image(source), name, mime_type(name)
    try:
        response = await send(client, "GET", source, what="image download")
    except Retryable as exc:
        raise unsent(exc) from None
    if response.status_code != 200:
        raise Rejected(f"image {source} answered {response.status_code}; fix the image: line", sent=False)
    name = source.rsplit("/", 1)[-1].split("?")[0] or "image"
    return response.content, name, mime_type(name)
