"""A candidate teaser counted without rendering and measuring the whole post again.

Fitting tries several teasers per render, and everything around the teaser (the link, the CTAs,
the hashtags: most of the URLs and tags a platform has to find) is the same for all of them. So
the template is rendered once with a placeholder for the teaser, and what follows the teaser is
counted once; each candidate is then the text before it plus the escaped teaser, counted alone,
its tally added to the fixed part's (Rules.tally). This holds only where it is exact:

* the template prints `teaser` only as a plain `{{ teaser }}` (at its top level or inside `if`
  and `for` blocks, no filter, test or macro touching it) and the placeholder comes out once,
  so a candidate's text is `before + escape(teaser) + after`, stripped;
* the fixed part starts with a line feed not preceded by a carriage return: the platforms that
  return a tally split their counting there (no URL, tag, emoji, grapheme or NFC composition
  spans a line feed, and a line feed or the end of the text stop a match alike).

Anything else is counted the whole way (None). The teaser kept is not measured again: fitting.py's
kept() prepares the text these pieces give for it and keeps their length and problems. That they are
what measure() and violations() say of the whole render is held by tests/test_render_pieces.py
(tallies against the whole count, and every corpus post and generated posts rendered both ways).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from postbot.models import Post
from postbot.platforms.base import Rules, add_tallies

# Private-use characters no escape function changes and no post carries.
PLACEHOLDER = "\U0010fffd\U000ffffd\U0010fffd"


# Bump when the check below changes: verdicts kept on disk are keyed by it.
CHECK_VERSION = "1"


@lru_cache(maxsize=128)
def prints_teaser_plainly(template: Any) -> bool:
    """True when `teaser` only ever appears in the template as `{{ teaser }}`, outside macros,
    blocks, filters, calls and includes. Keyed by the compiled template: an edited file is a new
    template object, read and checked again. Parsing a template costs more than rendering it, so
    the verdict is kept beside Jinja2's compiled templates, keyed by the source, Jinja2's version
    and this check's (a cold preview would otherwise parse every template it has compiled)."""
    import hashlib

    import jinja2

    environment = template.environment
    if template.name is None or environment.loader is None:
        return False
    try:
        source = environment.loader.get_source(environment, template.name)[0]
    except Exception:                       # unreadable now: count the slow way, which reports it
        return False
    folder = getattr(environment.bytecode_cache, "directory", None)
    key = hashlib.sha256(f"{CHECK_VERSION}\0{jinja2.__version__}\0{source}".encode("utf-8", "surrogatepass"))
    kept = Path(folder) / f"teaser-{key.hexdigest()}" if folder else None
    try:
        return kept.read_text("ascii") == "plain" if kept else _plain(environment, source)
    except OSError:
        pass
    verdict = _plain(environment, source)
    try:
        partial = kept.with_suffix(f".{os.getpid()}")
        partial.write_text("plain" if verdict else "other", "ascii")
        os.replace(partial, kept)
    except OSError:                         # a read-only cache: check again next time
        pass
    return verdict


def _plain(environment: Any, source: str) -> bool:
    from jinja2 import nodes

    try:
        tree = environment.parse(source)
    except Exception:                       # compose() meets it again and says what is wrong
        return False
    if any(True for _ in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))):
        return False
    plain_parents = (nodes.Template, nodes.If, nodes.For)

    def plain(node: Any, parents: tuple) -> bool:
        if isinstance(node, nodes.Name) and node.name == "teaser":
            parent = parents[-1] if parents else None
            return (node.ctx == "load" and isinstance(parent, nodes.Output)
                    and any(child is node for child in parent.nodes)
                    and all(isinstance(p, plain_parents) for p in parents[:-1]))
        return all(plain(child, (*parents, node)) for child in node.iter_child_nodes())

    return plain(tree, ())


class Pieces:
    """One template with one context (one render's fixed parts), counting candidate teasers."""

    def __init__(self, rules: Rules, post: Post, before: str, after: str):
        self.rules, self.post, self.before = rules, post, before
        self.tail = after.rstrip()
        self.tail_tally = None
        if self.tail[:1] == "\n":
            self.tail_tally = rules.tally(self.tail, post, first=False)

    @classmethod
    def of(cls, rules: Rules, post: Post, template: Any, context: dict[str, Any]) -> Pieces | None:
        """The template's fixed parts in this context, or None if a teaser cannot be counted apart."""
        if type(rules).tally is Rules.tally or rules.escape(PLACEHOLDER) != PLACEHOLDER:
            return None
        if not prints_teaser_plainly(template):
            return None
        try:
            rendered = template.render(context, teaser=PLACEHOLDER)
        except Exception:                   # compose() meets it again and says what is wrong
            return None
        if rendered.count(PLACEHOLDER) != 1:
            return None
        before, after = rendered.split(PLACEHOLDER)
        pieces = cls(rules, post, before, after)
        return pieces if pieces.tail_tally is not None or not pieces.tail else None

    def text(self, teaser: str) -> str:
        """The candidate as compose() renders it."""
        return (self.before + self.rules.escape(teaser) + self.tail).strip()

    def count(self, teaser: str) -> tuple[int, list[str]] | None:
        """(length, problems) as measure() and violations() would say, or None: count it whole."""
        head = (self.before + self.rules.escape(teaser)).lstrip()
        if not head.strip():
            return None                     # the strip would reach into the fixed part
        if not self.tail:
            return self.rules.judge(self.rules.tally(head.rstrip(), self.post))
        if head.endswith("\r"):
            return None                     # CR LF is one grapheme: no split between them
        return self.rules.judge(add_tallies(self.rules.tally(head, self.post), self.tail_tally))
