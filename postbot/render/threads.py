"""Threads: a body split at sentence ends into numbered parts that each fit; the last carries the CTAs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from postbot import text as textlib
from postbot.errors import RenderError
from postbot.models import Part, Render
from postbot.platforms.base import Prepared
from postbot.render.fitting import sentence_cuts

if TYPE_CHECKING:
    from postbot.render.fitting import Fitting


def fit_thread(fitting: Fitting, max_parts: int | None) -> Render:
    """Split the body at sentence ends into numbered parts; the last carries the template's CTAs."""
    max_parts = max_parts or fitting.rules.thread_max_parts
    # A thread has room for the article itself: it is cut from its first line, unless a teaser is written.
    source = (fitting.override.get("teaser") or fitting.post.teaser or fitting.lead_source()).strip()
    fitting.fit_ctas(source)
    sentences = list(sentence_cuts(source)) or [len(source)]
    if sentences[-1] != len(source):
        sentences.append(len(source))
    for count_guess in range(2, max_parts + 1):
        chunks = pack(fitting, source, sentences, count_guess)
        if chunks is not None and len(chunks) <= count_guess:
            break
    else:
        chunks = pack(fitting, source, sentences, max_parts, allow_cut=True)
    total = len(chunks)
    if total == 1:
        result = fitting.fits(chunks[0])
        if result:
            return fitting.finish(chunks[0], result, truncated=False)
        fitting.overflow()
    parts: list[Part] = []
    prepared_parts: list[Prepared] = []
    for index, chunk in enumerate(chunks, start=1):
        marker = f"{index}/{total}"
        if index < total:
            prepared = fitting.rules.prepare(fitting.rules.escape(chunk) + f" {marker}", fitting.post)
            length = fitting.rules.measure(prepared)
        else:
            result = fitting.fits(chunk, part=marker)
            if not result:
                fitting.overflow()
            prepared, length, _ = result
            fitting.check_first_cta(prepared)
        parts.append(Part(prepared.text, length, fitting.rules.build_payload(prepared, fitting.post)))
        prepared_parts.append(prepared)
    # The head is what was prepared, not its text prepared again: that would escape twice or
    # lose Bluesky's full link URIs behind the shortened ones.
    render = fitting.finish(chunks[0], (prepared_parts[0], parts[0].length, []), truncated=False, parts=parts)
    render.links = list(dict.fromkeys(link for prepared in prepared_parts for link in prepared.links))
    parts[0].links = render.links            # the head carries every link of the thread, as stored
    return render

def pack(fitting: Fitting, source: str, ends: list[int], count: int, allow_cut: bool = False) -> list[str] | None:
    """Greedy: each part takes as many whole sentences as fit with its 'i/n' marker."""
    chunks: list[str] = []
    start = 0
    while start < len(source):
        if len(chunks) == count - 1:
            rest = source[start:].strip()
            last_ends = [e - start for e in ends if e > start]
            if fitting.fits(rest, part=f"{count}/{count}"):
                chunks.append(rest)
                return chunks
            if not allow_cut:
                return None
            # Out of parts: the last part ends at the longest sentence prefix that fits.
            best = None
            for end in last_ends:
                piece = textlib.cut(source[start:], end, ellipsis=False)
                if fitting.fits(piece, part=f"{count}/{count}"):
                    best = piece
                else:
                    break
            if best is None:
                raise RenderError(f"channel {fitting.channel.name}: the thread's last part cannot fit "
                                  f"its CTAs", channel=fitting.channel.name, overflow=0)
            chunks.append(best)
            return chunks
        taken = None
        for end in (e for e in ends if e > start):
            piece = source[start:end].strip()
            prepared = fitting.rules.prepare(fitting.rules.escape(piece) + f" {len(chunks) + 1}/{count}", fitting.post)
            if fitting.rules.measure(prepared) <= fitting.limit and not fitting.rules.violations(prepared):
                taken = end
            else:
                break
        if taken is None:
            # One sentence longer than a part: cut it at a word boundary.
            rest = source[start:]
            words = [w for w in textlib.word_cuts(rest, fitting.post.lang) if w > 0]
            lo_piece = None
            for w in words:
                prepared = fitting.rules.prepare(fitting.rules.escape(rest[:w].strip()) + f" {len(chunks) + 1}/{count}",
                                                 fitting.post)
                if fitting.rules.measure(prepared) <= fitting.limit:
                    lo_piece = w
                else:
                    break
            if lo_piece is None:
                raise RenderError(f"channel {fitting.channel.name}: a word is too long for one part",
                                  channel=fitting.channel.name, overflow=0)
            taken = start + lo_piece
        chunks.append(source[start:taken].strip())
        start = taken
        while start < len(source) and source[start].isspace():
            start += 1
    return chunks
