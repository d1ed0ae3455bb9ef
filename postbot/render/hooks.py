"""The hook strategy: the sentences a social editor would lift from an article, found offline.

Every sentence is scored the way an editor reads: questions with their direct answers, strong
claims and contrasts ("but", "NO", "myth", numbers), closeness to what the whole article (and its
title) is about, minus throat-clearing ("I've been considering", "In this post", dates). From the
scores come the pieces a platform's shape is built from: the hook, the thesis, a supporting line
and the closing question to readers. Pure and deterministic: same text, same pieces.

Centrality is a small TF-IDF (sentences as documents) cosine against the whole text: a library
such as scikit-learn would add seconds to a cold `postbot preview` for twenty sentences' arithmetic.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from postbot import text as textlib

# Openers that announce instead of saying something; lower-cased, several languages.
_THROAT_CLEARING = re.compile(
    r"^(?:i(?:'|’)?ve been (?:considering|thinking|meaning|wondering)|i have been (?:considering|thinking|meaning)"
    r"|in (?:this|today(?:'|’)?s) (?:post|article|blog|video|piece)|this (?:post|article|blog post) (?:is|will|covers)"
    r"|(?:welcome|hello|hi|hey)\b|as (?:some|many) of you (?:know|may know)|today i (?:want|would like|wanted)"
    r"|i (?:want|wanted|would like) to (?:talk|write|share)|let(?:'|’)?s (?:talk|dive|start)|first of all|before we (?:start|begin)"
    r"|posted on|published|updated|last updated"
    r"|in diesem (?:beitrag|artikel|post)|heute (?:möchte|will) ich|ich (?:habe|hab) (?:lange )?(?:überlegt|darüber nachgedacht)"
    r"|dans (?:cet|ce) (?:article|billet|post)|aujourd(?:'|’)hui,? je (?:veux|voudrais)|je me (?:demande|suis demandé) depuis"
    r"|en (?:este|esta) (?:artículo|entrada|post)|hoy (?:quiero|voy a)|llevo (?:tiempo|un tiempo) (?:pensando|dándole)"
    r"|neste (?:artigo|post)|hoje (?:quero|vou)|in questo (?:articolo|post)|oggi (?:voglio|vorrei)"
    r"|in dit (?:artikel|bericht|blog))")
_DATE_LIKE = re.compile(r"^\W*(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}"
                        r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d{1,2},? \d{4})")
# Contrast and strong-claim words; matched as whole words, case-insensitively.
_CLAIMS = frozenset("""
but however yet no not never nothing myth myths wrong truth mistake mistakes stop worst best only actually
instead surprising fact proven lie lies secret nobody everyone always must
aber nein nie nicht mythos falsch wahrheit fehler stattdessen niemals
mais non jamais mythe faux vérité erreur pourtant toujours
pero nunca mito falso verdad error sin embargo siempre
mas não nunca mito falso verdade erro porém sempre
ma mai mito falso verità errore invece
maar nee nooit mythe fout waarheid
""".split())
_SECOND_PERSON = frozenset("""
you your you've you're yours du dich dir dein deine ihr euch euer sie ihnen tu toi te ton ta tes vous votre vos
tú te tu tus usted ustedes vosotros vuestro você vocês seu sua voi vostro jij je jouw u jullie
""".split())
_ANSWER_OPENERS = re.compile(r"^(?:well|so|yes|no|nope|short answer|the (?:short )?answer|answer|in short|spoiler"
                             r"|ja|nein|oui|non|sí|si|não|nee)\b", re.I)
_STOPWORDS = frozenset("""
a an the and or of to in on at for with by from as is are was were be been being it its it's this that these those
i me my we our you your he she they them their his her there here so do does did have has had not but if then than
what which who whom how why when where will would can could should may might just very also about into over more
most some any all each other such only own same too out up down off again once because while during before after
der die das und oder ein eine zu im in ist sind war mit von für auf den dem des nicht es ich du wir sie
le la les et ou un une de des du en est sont pour avec sur pas je tu nous vous il elle que qui
el los las y o un una de del en es son para con por no yo que se lo al
o os as e um uma do da dos das em é são para com por não eu que se
il lo gli e o un una di del della in è sono per con non io che
de het en of een van in is zijn voor met op niet ik je dat
""".split())
# A comparison is the usual shape of an article's verdict ("more effective and safer than").
_COMPARISON = re.compile(r"\b(?:more|less|better|worse|safer)\b[^.!?]{0,40}\bthan\b|\b(?:mehr|besser|weniger)\b[^.!?]{0,40}\bals\b"
                         r"|\b(?:plus|moins|mieux)\b[^.!?]{0,40}\bque\b|\b(?:más|menos|mejor|mais|melhor)\b[^.!?]{0,40}\b(?:que|do que)\b",
                         re.I)
# Openers that lean on a sentence the reader of a teaser has not seen.
_LEANS_BACK = re.compile(r"^(?:it|this|that|these|those|they|he|she|also|then|next|finally|and|but|not only this|as (?:i|we) said|dies|das|cela|ceci|esto|eso|isso)\b",
                         re.I)
_WORD = re.compile(r"\w+(?:['’]\w+)?")
_NO_SPACE = r"[\u3040-\u30ff\u3400-\u9fff\u0e00-\u0e7f\uac00-\ud7af]"     # scripts written without spaces


# Each platform's teaser, as the pieces people who post well there use, in order. The renderer keeps
# the longest whole-sentence prefix that fits, so later pieces go first when room is short.
SHAPES: dict[str, tuple[str, ...]] = {
    "x": ("hook", "question"),
    "bluesky": ("hook", "question"),
    "mastodon": ("hook", "question"),
    "threads": ("hook", "question"),
    "linkedin": ("hook", "thesis", "support", "question"),
    "facebook": ("hook", "thesis", "question"),
    "instagram": ("hook", "thesis", "question"),
    "telegram": ("hook", "question"),
    "discord": ("hook", "question"),
    "slack": ("hook", "question"),
    "generic": ("hook", "thesis", "question"),
}


LEAD_BONUS = 0.8


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    paragraph: int
    question: bool


@dataclass(frozen=True)
class Pieces:
    """What a platform's shape is built from; any may be None. Texts are verbatim from the article."""

    hook: str | None
    thesis: str | None
    support: str | None
    question: str | None

    def compose(self, shape: tuple[str, ...]) -> str:
        """The pieces a shape names, in its order, each once, as paragraphs."""
        chosen: list[str] = []
        for name in shape:
            piece = getattr(self, name)
            if piece and piece not in chosen:
                chosen.append(piece)
        return "\n\n".join(chosen)


def sentences(body: str) -> list[Sentence]:
    found: list[Sentence] = []
    for number, paragraph in enumerate(p.strip() for p in body.split("\n\n")):
        if not paragraph:
            continue
        start = 0
        for end in list(textlib.sentence_cuts(paragraph)) + [len(paragraph)]:
            piece = paragraph[start:end].strip()
            start = end
            if piece:
                found.append(Sentence(len(found), piece, number, piece.rstrip("\"'”’»)").endswith(("?", "？"))))
    return found


def words(text: str) -> list[str]:
    """Lower-cased content words; text without spaces (Japanese, Chinese, Thai) as character pairs."""
    lowered = text.lower()
    no_space = textlib.compiled_regex(_NO_SPACE)     # `regex`: stdlib re spends ~3 ms compiling these ranges
    tokens = [w for w in _WORD.findall(lowered) if w not in _STOPWORDS and not no_space.search(w) and len(w) > 1]
    for run in textlib.compiled_regex(_NO_SPACE + "+").findall(lowered):
        tokens += [run[i:i + 2] for i in range(max(1, len(run) - 1))]
    return tokens


def throat_clearing(text: str) -> bool:
    lowered = text.lower().lstrip(" \"'“‘«(")
    return bool(_THROAT_CLEARING.match(lowered) or _DATE_LIKE.match(lowered))


def _centrality(items: list[Sentence], title: str | None) -> list[float]:
    """Cosine of each sentence's TF-IDF vector with the whole text's (and the title's, weighted in)."""
    bags = [words(s.text) for s in items]
    count = len(bags)
    frequency: dict[str, int] = {}
    for bag in bags:
        for word in set(bag):
            frequency[word] = frequency.get(word, 0) + 1
    idf = {word: math.log((1 + count) / (1 + n)) + 1 for word, n in frequency.items()}

    def vector(bag: list[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for word in bag:
            out[word] = out.get(word, 0.0) + idf.get(word, 1.0)
        return out

    whole = vector([w for bag in bags for w in bag] + words(title or "") * 3)
    whole_norm = math.sqrt(sum(v * v for v in whole.values())) or 1.0
    scores = []
    for bag in bags:
        own = vector(bag)
        norm = math.sqrt(sum(v * v for v in own.values())) or 1.0
        scores.append(sum(v * whole.get(w, 0.0) for w, v in own.items()) / (norm * whole_norm))
    top = max(scores, default=0.0) or 1.0
    return [s / top for s in scores]


def _claims(text: str) -> int:
    tokens = _WORD.findall(text.lower())
    strong = sum(1 for t in tokens if t in _CLAIMS)
    strong += len(re.findall(r"\b\d+(?:[.,]\d+)?\s*%?", text)) > 0
    strong += text.rstrip("\"'”’»)").endswith("!")
    strong += bool(_COMPARISON.search(text))
    return strong


def _answers(question: Sentence, following: Sentence | None) -> bool:
    """A question the writer answers right away, in the same paragraph: the strongest hook there is."""
    return (following is not None and following.paragraph == question.paragraph and not following.question
            and (len(following.text) <= 90 or bool(_ANSWER_OPENERS.match(following.text))))


def _to_readers(item: Sentence) -> bool:
    return item.question and any(w in _SECOND_PERSON for w in _WORD.findall(item.text.lower()))


def closing_question(items: list[Sentence]) -> Sentence | None:
    """The question the article leaves its readers with: the first of the last run of questions,
    in the final third, preferring one addressed to 'you'."""
    if not items:
        return None
    tail = [s for s in items if s.index >= len(items) * 2 // 3 and s.question]
    if not tail:
        return None
    to_readers = [s for s in tail if _to_readers(s)]
    pool = to_readers or tail
    last = pool[-1]
    run = [s for s in pool if s.paragraph == last.paragraph]
    return run[0]


def _score(item: Sentence, items: list[Sentence], centrality: float, lead: int | None) -> float:
    text = item.text
    score = 2.0 * centrality
    following = items[item.index + 1] if item.index + 1 < len(items) else None
    if item.question:
        score += 1.0
        if _answers(item, following):
            score += 1.5 + 0.5 * min(2, _claims(following.text))   # type: ignore[union-attr]
    score += 0.6 * min(3, _claims(text))
    if throat_clearing(text):
        score -= 4.0
    length = len(text)
    if length < 30:
        score -= 1.5
    elif length > 240:
        score -= 1.5
    if item.index == lead:
        score += LEAD_BONUS   # the first sentence that says something: a news lead is usually its own hook
    if _LEANS_BACK.match(text):
        score -= 0.4          # leans on a sentence the reader has not seen
    return score


def _thesis_score(item: Sentence, centrality: float) -> float:
    """Central, a verdict (a comparison reads as one) and short enough to stand as its own paragraph."""
    return (centrality + 0.3 * bool(_COMPARISON.search(item.text)) - 0.3 * (len(item.text) > 200)
            - 0.3 * bool(_LEANS_BACK.match(item.text)))


@lru_cache(maxsize=256)
def pieces(body: str, title: str | None = None) -> Pieces:
    """The hook, thesis, supporting line and closing question of an article (cached per text)."""
    items = sentences(body)
    if not items:
        return Pieces(None, None, None, None)
    centrality = _centrality(items, title)
    question = closing_question(items)
    lead = next((s.index for s in items if not throat_clearing(s.text)), None)
    scores = [_score(s, items, c, lead) for s, c in zip(items, centrality)]
    ranked = sorted(items, key=lambda s: (-scores[s.index], s.index))
    best = next((s for s in ranked if s is not question), ranked[0])
    hook = best.text
    used = {best.index}
    following = items[best.index + 1] if best.index + 1 < len(items) else None
    if best.question and _answers(best, following):
        hook = f"{best.text} {following.text}"   # type: ignore[union-attr]
        used.add(following.index)                # type: ignore[union-attr]
    if question is not None:
        used.add(question.index)
    # Thesis and support: the most central sentences left that say something on their own.
    central = sorted((s for s in items if s.index not in used and not throat_clearing(s.text) and not s.question
                      and 30 <= len(s.text) <= 280),
                     key=lambda s: (-_thesis_score(s, centrality[s.index]), s.index))
    thesis, support = (central + [None, None])[:2]
    if thesis and support and support.index < thesis.index:
        thesis, support = support, thesis      # read in the article's order
    return Pieces(hook=hook, thesis=thesis.text if thesis else None, support=support.text if support else None,
                  question=question.text if question else None)


def derive_title(body: str, max_length: int, hint: str = "") -> str | None:
    """A title for an article without one: the shortest complete sentence that carries its topic
    (the words the whole text, and the file name in `hint`, are most about), statements before
    questions; never cut mid-sentence, never a fragment ("Five each side.")."""
    items = [s for s in sentences(body) if not throat_clearing(s.text)]
    if not items:
        return None
    counts: dict[str, int] = {}
    for item in items:
        for word in set(words(item.text)):
            counts[word] = counts.get(word, 0) + 1
    repeated = sorted((kv for kv in counts.items() if kv[1] > 1), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
    topic = {w for w, _ in repeated[:3]} | (set(words(hint)) & set(counts))
    closing = closing_question(sentences(body))
    candidates = [s for s in items if 25 <= len(s.text) <= max_length and len(words(s.text)) >= 3
                  and not _LEANS_BACK.match(s.text) and (closing is None or s.text != closing.text)
                  and topic & set(words(s.text))]
    if not candidates:
        return None
    best = min(candidates, key=lambda s: (-len(topic & set(words(s.text))), s.question, len(s.text), s.index))
    return best.text
