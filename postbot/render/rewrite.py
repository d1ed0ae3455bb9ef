"""Optional teasers written by a language model the user runs or pays for, never trusted unchecked.

POSTBOT_LLM_URL points at an OpenAI-compatible chat-completions endpoint (a local Ollama or
llama.cpp server, or a hosted one). postbot asks for one teaser per channel with that platform's
room and rules; the renderer then measures the answer with the platform's own counting and
rejects one that does not fit, drops a CTA or carries a link the article does not have, and uses
the extractive teaser instead, with a warning. Off unless POSTBOT_LLM_URL is set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from postbot import text as textlib
from postbot.models import Post

ARTICLE_CHARS = 6000          # what the model is shown of a long article: enough for its argument
SYSTEM = ("You write social media posts for the author of an article. Reply with the post text only: "
          "no quotes around it, no preamble, no links, no hashtags (they are added after your text).")


class RewriteFailed(Exception):
    """The endpoint gave no usable answer (unreachable, timed out, an HTTP error, an odd body)."""


@dataclass(frozen=True)
class Rewriter:
    url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 20.0

    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def prompt(self, post: Post, platform: str, room: int, shape: str) -> str:
        body = (post.body or "")[:ARTICLE_CHARS]
        language = f" Write in the article's language ({post.lang})." if post.lang else \
            " Write in the article's language."
        return (f"Write the text of one {platform} post that makes readers want to open this article. "
                f"At most {room} characters as {platform} counts them. Shape: {shape}. Use only what the "
                f"article says.{language}\n\nTitle: {post.title}\n\nArticle:\n{body}")

    def teaser(self, post: Post, platform: str, room: int, shape: str) -> str:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        request = {"model": self.model, "temperature": 0.2,
                   "messages": [{"role": "system", "content": SYSTEM},
                                {"role": "user", "content": self.prompt(post, platform, room, shape)}]}
        try:
            response = httpx.post(self.endpoint(), json=request, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise RewriteFailed(f"no answer within {self.timeout:g} s (POSTBOT_LLM_TIMEOUT)") from None
        except httpx.HTTPError as exc:
            raise RewriteFailed(f"cannot reach POSTBOT_LLM_URL ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise RewriteFailed(f"POSTBOT_LLM_URL answered HTTP {response.status_code}")
        try:
            answer = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise RewriteFailed("the answer is not an OpenAI-style chat completion") from None
        if not isinstance(answer, str) or not answer.strip():
            raise RewriteFailed("the answer is empty")
        return answer.strip().strip('"“”').strip()


def invented_links(answer: str, post: Post) -> list[str]:
    """Links in the answer the post does not have: a model must not make up where readers go."""
    known = (post.body or "") + " " + (post.url or "") + " " + " ".join(c.url for c in post.ctas)
    found = [answer[start:end] for start, end, *_ in textlib.url_spans(answer, schemeless=True)]
    return [link for link in found if link.rstrip("/.") not in known]
