"""Which local files a post may name as its image: inside its folder or a media root, and an image.

A post file is input, not a trusted instruction: `image: pic.jpg` with `pic.jpg -> /etc/passwd`
once uploaded the password file. So the path is resolved (symlinks followed) and must land inside
the post's own folder or one of POSTBOT_MEDIA_ROOTS, and the bytes must sniff, with Pillow, as the
image type the name claims. Checked when the post is loaded (preview, queue: exit 2) and again when
publishing, because the file may have changed in between.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterable

# What each accepted suffix claims, as Pillow names formats.
CLAIMED_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}
SUFFIX_OF = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
MIME_OF = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SNIFF_BYTES = 1 << 16            # enough for every header Pillow reads to name a format


class ImageRefused(ValueError):
    """A local image that may not be used; the message says why and how to fix it."""


def sniff(data: bytes) -> str | None:
    """The image format the bytes really are (JPEG, PNG, GIF, WEBP, ...), or None when not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def check_bytes(data: bytes, name: str, label: str | None = None) -> str:
    """The sniffed format, when it is the one the file name claims; else ImageRefused.
    `label` is how messages name the file (default: `image <name>`)."""
    label = label or f"image {name}"
    claimed = CLAIMED_FORMAT.get(Path(name).suffix.lower())
    found = sniff(data)
    if found is None:
        raise ImageRefused(f"{label} is not an image (its bytes are no JPG, PNG, GIF or WEBP); "
                           f"point image: at a picture")
    if claimed and found != claimed:
        better = SUFFIX_OF.get(found)
        fix = f"rename it to {Path(name).stem}{better}" if better else "convert it to JPG or PNG"
        raise ImageRefused(f"{label} is named as {claimed} but its bytes are {found}; {fix}")
    if found not in MIME_OF:
        raise ImageRefused(f"{label} is {found}, which platforms do not take; convert it to JPG or PNG")
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def resolve(image: str, post_folder: Path, media_roots: Iterable[Path] = ()) -> Path:
    """The real path of a post's local image, checked: inside an allowed folder and a real image."""
    label = f"'image' {image!r}"
    if "\x00" in image:
        raise ImageRefused(f"{label} contains a NUL character; write the file's path as plain text")
    folder = post_folder.resolve()
    roots = [folder, *(Path(root).expanduser().resolve() for root in media_roots)]
    try:
        real = (folder / Path(image).expanduser()).resolve()
    except (OSError, RuntimeError) as exc:       # a symlink loop, a name too long
        raise ImageRefused(f"{label} cannot be resolved ({exc}); fix the image: line") from None
    if not any(_inside(real, root) for root in roots):
        where = " or ".join(str(root) for root in roots)
        raise ImageRefused(f"{label} resolves to {real}, outside {where}; keep images beside the post, "
                           f"or add their folder to POSTBOT_MEDIA_ROOTS")
    if not real.is_file():
        raise ImageRefused(f"{label} not found; the path is read relative to the post file's folder")
    check_bytes(_head(real, label), image, label)
    return real


def _head(path: Path, label: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise ImageRefused(f"cannot read {label} ({exc.strerror}); check its permissions") from None


def read_checked(path: str) -> tuple[bytes, str]:
    """(bytes, format) of an image checked at queue time, refused if it has since become a symlink
    (or sits under one) or no longer sniffs as the type its name claims."""
    absolute = os.path.abspath(path)
    if os.path.realpath(absolute) != absolute:
        raise ImageRefused(f"image {path} is now reached through a symlink, which was not there when it was "
                           f"queued; put the real file back, then `postbot retry`")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        with os.fdopen(os.open(absolute, flags), "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ImageRefused(f"cannot read image {path} ({exc.strerror}); put the file back, then "
                           f"`postbot retry`") from None
    return data, check_bytes(data, path)
