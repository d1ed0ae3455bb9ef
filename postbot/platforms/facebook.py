"""Facebook Pages: a message in UTF-16 units; POST /{version}/{page-id}/feed with the link, or /photos.

The Graph API's conventions (error object, throttling codes, token in the form body) are in meta.py.

Alt text: `alt_text_custom` is a field of the Photo node; passing it when publishing is seen only in
third-party code (platforms.md §5), so Facebook may ignore it.
"""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.errors import Rejected
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender
from postbot.platforms.media import is_remote, needs_public_url, public_image_url
from postbot.platforms.meta import bearer, graph_check, raise_for_graph
from postbot.platforms.outcomes import send

DEFAULT_API_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"



def first_cta_link(prepared: Prepared, post: Post) -> str | None:
    """The first CTA's URL as the text carries it (with its UTM tags), else as the post lists it."""
    if not post.ctas:
        return None
    wanted = post.ctas[0].url
    return next((link for link in prepared.links if link == wanted or link.startswith(wanted.split("#")[0])),
                wanted)

class FacebookRules(Rules):
    platform = "facebook"
    label = "Facebook"
    color = "#1877f2"
    limit = 63206
    fold = 480
    all_ctas = True
    teaser_max = 1000

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        if post.image:
            # A photo post: the caption carries the links, Facebook shows no link card.
            payload: dict[str, Any] = {"message": prepared.text,
                                       "url": public_image_url(post.image, self.image_base()) or post.image}
            if post.image_alt:
                payload["alt_text_custom"] = post.image_alt
            return payload
        # Facebook builds the link card from `link`, not from the message: the post's own URL, or
        # the first CTA (as the message carries it, UTM tags included) when the post has none.
        payload = {"message": prepared.text}
        link = post.url or first_cta_link(prepared, post)
        if link:
            payload["link"] = link
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if post.image and not public_image_url(post.image, self.image_base()):
            return [f"the image {post.image} is a local file; set {self.channel.var('IMAGE_BASE_URL')} to "
                    f"the public folder you upload it to"]
        return []

    def refuse(self, post: Post) -> str | None:
        if post.image and not public_image_url(post.image, self.image_base()):
            return needs_public_url(post.image, "Facebook", self.channel.var("IMAGE_BASE_URL"))
        return None

    def image_base(self) -> str | None:
        return self.channel.setting("IMAGE_BASE_URL")


class FacebookSender(Sender):
    kind = "facebook"
    rules_class = FacebookRules
    required = ("PAGE_ID", "PAGE_TOKEN")

    def graph_url(self) -> str:
        """The Graph API's versioned address (the OAuth endpoints of Facebook Login are there too)."""
        base = self.channel.setting("API_URL", DEFAULT_API_URL).rstrip("/")
        version = self.channel.setting("GRAPH_VERSION", DEFAULT_VERSION).strip("/")
        return f"{base}/{version}"

    def page_url(self) -> str:
        return f"{self.graph_url()}/{self.channel.setting('PAGE_ID')}"

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        form = {key: value for key, value in payload.items() if value not in (None, "")}
        photo = "url" in form
        if photo and not is_remote(form["url"]):
            raise Rejected(f"the image {form['url']} is a local file; set {self.channel.var('IMAGE_BASE_URL')}"
                           f" to the public folder it is uploaded to, then `postbot retry`")
        form["access_token"] = self.channel.setting("PAGE_TOKEN")
        endpoint = f"{self.page_url()}/{'photos' if photo else 'feed'}"
        response = await send(ctx.client, "POST", endpoint, what="Facebook post", data=form)
        raise_for_graph(response, platform="Facebook", now=ctx.now(), token_var=self.channel.var("PAGE_TOKEN"))
        answer = response.json()
        post_id = str(answer.get("post_id") or answer.get("id"))
        extra = {"photo_id": str(answer["id"])} if photo and answer.get("id") else {}
        return Published(remote_id=post_id, remote_url=f"https://www.facebook.com/{post_id}", extra=extra)

    async def check(self, client) -> str:
        self.require_settings()
        response = await send(client, "GET", self.page_url(), what="Facebook page", params={"fields": "id,name"},
                              headers=bearer(self.channel.setting("PAGE_TOKEN")))
        graph_check(response, platform="Facebook",
                    token_fix=f"run `postbot connect facebook --name {self.channel.name}` (or set "
                              f"{self.channel.var('PAGE_TOKEN')} to a valid Page access token)",
                    id_var=self.channel.var("PAGE_ID"))
        answer = response.json()
        return f"page {answer.get('name')} ({answer.get('id')})"


RULES = FacebookRules
SENDER = FacebookSender
