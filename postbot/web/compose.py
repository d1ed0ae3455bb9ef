"""A pasted article -> a Post, read by the same loader as post files (same checks, same wording)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from postbot.models import Post
from postbot.posts import load_post, slugify

SUFFIXES = {"plain": ".txt", "markdown": ".md"}


def _suffix(kind: str) -> str:
    return SUFFIXES.get(kind, ".txt")


def read_pasted(text: str, kind: str, *, repair: bool, media_roots=()) -> Post:
    """Parse an article that is not saved yet; messages name it `article` instead of a temp path."""
    from postbot.errors import PostbotError
    with tempfile.TemporaryDirectory(prefix="postbot-compose-") as folder:
        path = Path(folder) / f"article{_suffix(kind)}"
        path.write_text(text, encoding="utf-8")
        try:
            post = load_post(path, repair=repair, media_roots=media_roots)
        except PostbotError as exc:
            exc.args = (str(exc).replace(str(path), path.name),)      # what the face shows
            raise
        post.source = path.name
        post.slug = slugify(post.title) or "post"      # as if saved under its title, like save_article does
        post.warnings = [w.replace(str(path), path.name) for w in post.warnings]
    return post


def save_article(text: str, kind: str, title: str, posts_dir: Path) -> Path:
    """Keep a queued article as a post file in posts_dir, never overwriting another one."""
    posts_dir.mkdir(parents=True, exist_ok=True)
    stem = slugify(title) or "post"
    path = posts_dir / f"{stem}{_suffix(kind)}"
    number = 2
    while path.exists():
        path = posts_dir / f"{stem}-{number}{_suffix(kind)}"
        number += 1
    path.write_text(text, encoding="utf-8")
    return path
