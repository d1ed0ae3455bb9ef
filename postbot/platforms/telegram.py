"""Telegram Bot API: HTML parse mode counted as Telegram does; sendMessage, or sendPhoto with a caption.

The bot token travels in the URL path, so no URL is ever put into an error or log
message: every request goes through `_call`, which names the method only.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from postbot import text as textlib
from postbot.errors import PublishError, Rejected
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender, labelled_links
from postbot.platforms.media import image_source, is_remote, local_image_refusal, mime_type, read_local_image
from postbot.platforms.outcomes import json_object, raise_for_status, send

CAPTION_LIMIT = 1024
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_API = "https://api.telegram.org"
_TAG = re.compile(r"<[^>]+>")
_HREF = re.compile(r'<a href="([^"]+)">')
_ANCHOR = re.compile(r'<a href="([^"]+)">(.*?)</a>', re.S)
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_NUMERIC = re.compile(r"^-?\d+$")
_OFF = ("off", "false", "0", "no")


def visible_text(markup: str) -> str:
    """What Telegram counts: the text after entity parsing (tags gone, entities decoded)."""
    return html.unescape(_TAG.sub("", markup))


def image_path(post: Post) -> str:
    """A local image is read relative to the post file, as its author sees it; one that is not
    there stays as written, so refuse() names it as the author wrote it."""
    beside = image_source(post)
    return beside if Path(beside).exists() else post.image or ""


def message_link(chat: dict[str, Any], configured: str, message_id: int) -> str | None:
    """Public chats link by username; private supergroups and channels by the id without -100."""
    username = chat.get("username") or (configured[1:] if configured.startswith("@") else None)
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id", configured))
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None     # private chats and basic groups have no message links


class TelegramRules(Rules):
    platform = "telegram"
    label = "Telegram"
    color = "#229ed9"
    limit = 4096
    all_ctas = True
    teaser_max = 1200

    def escape(self, value: str) -> str:
        return html.escape(value, quote=False)

    def link(self, url: str, label: str | None = None) -> str:
        href = html.escape(url, quote=True)
        return f'<a href="{href}">{html.escape(label or url, quote=False)}</a>'

    def limit_for(self, post: Post | None = None) -> int:
        return CAPTION_LIMIT if post is not None and post.image else self.limit

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        links = [html.unescape(h) for h in _HREF.findall(rendered)]
        for url in textlib.find_urls(visible_text(rendered)):
            if url not in links:
                links.append(url)
        return Prepared(rendered, links)

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(visible_text(prepared.text))

    def link_preview(self) -> bool:
        return (self.channel.setting("LINK_PREVIEW", "on") or "on").lower() not in _OFF

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        chat = self.channel.setting("CHAT_ID", "")
        if post.image:
            return {"chat_id": chat, "photo": image_path(post), "caption": prepared.text, "parse_mode": "HTML"}
        payload: dict[str, Any] = {"chat_id": chat, "text": prepared.text, "parse_mode": "HTML"}
        preview_url = post.url or (prepared.links[0] if prepared.links else None)
        payload["link_preview_options"] = ({"url": preview_url, "prefer_large_media": True}
                                           if preview_url and self.link_preview() else {"is_disabled": True})
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if post.image and post.image_alt:
            return ["Telegram photos have no alt text field; the image is sent without it"]
        return []

    def refuse(self, post: Post) -> str | None:
        return local_image_refusal(post, image_path(post), platform="Telegram", max_bytes=PHOTO_MAX_BYTES,
                                   size="10 MB photo")

    @classmethod
    def visible(cls, text: str) -> str:
        return visible_text(text)

    @classmethod
    def visible_links(cls, text: str) -> list[tuple[str, str | None]]:
        return labelled_links(text, _ANCHOR, visible_text, html.unescape)


class TelegramSender(Sender):
    kind = "telegram"
    rules_class = TelegramRules
    required = ("BOT_TOKEN", "CHAT_ID")

    # ---- settings ---------------------------------------------------------------------
    def chat_id(self) -> str:
        """The configured chat, or the supergroup it became (remembered after a migration)."""
        configured = self.channel.setting("CHAT_ID", "") or ""
        migrated = self.state.get("migrated_chat")
        if isinstance(migrated, dict) and migrated.get("from") == configured and migrated.get("to"):
            return str(migrated["to"])
        return configured

    def settings_problem(self) -> str | None:
        """A missing setting, or a bot token that cannot be one."""
        problem = super().settings_problem()
        if problem:
            return problem
        if not _TOKEN_SHAPE.match(self.channel.setting("BOT_TOKEN") or ""):
            return (f"{self.channel.var('BOT_TOKEN')} does not look like a bot token (digits:letters, as "
                    f"@BotFather shows it); copy it again")
        return None

    def method_url(self, method: str) -> str:
        base = (self.channel.setting("API_URL", DEFAULT_API) or DEFAULT_API).rstrip("/")
        return f"{base}/bot{self.channel.setting('BOT_TOKEN')}/{method}"

    # ---- requests -----------------------------------------------------------------------
    async def _call(self, client, method: str, **kwargs: Any):
        """One Bot API request. Errors name the method, never the URL (it holds the token)."""
        import httpx
        try:
            return await send(client, "POST", self.method_url(method), what=f"telegram {method}", **kwargs)
        except httpx.InvalidURL:
            raise Rejected(f"telegram {method}: {self.channel.var('API_URL')} or {self.channel.var('BOT_TOKEN')} "
                           f"makes an invalid URL; check both", sent=False) from None

    def _request_for(self, payload: dict[str, Any], chat: str) -> tuple[str, dict[str, Any]]:
        wire_chat: int | str = int(chat) if _NUMERIC.match(chat) else chat
        if "photo" not in payload:
            body = {key: value for key, value in payload.items() if key != "chat_id"}
            return "sendMessage", {"json": {"chat_id": wire_chat, **body}}
        photo = str(payload["photo"])
        fields = {key: value for key, value in payload.items() if key not in ("chat_id", "photo")}
        if is_remote(photo):
            return "sendPhoto", {"json": {"chat_id": wire_chat, "photo": photo, **fields}}
        data = read_local_image(photo, "telegram")
        form = {"chat_id": str(wire_chat), **{k: str(v) for k, v in fields.items()}}
        return "sendPhoto", {"data": form, "files": {"photo": (Path(photo).name, data, mime_type(photo))}}

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        configured = self.channel.setting("CHAT_ID", "") or ""
        for _ in range(2):
            chat = self.chat_id()
            method, kwargs = self._request_for(payload, chat)
            response = await self._call(ctx.client, method, **kwargs)
            body = json_object(response)
            if response.status_code == 200 and body.get("ok"):
                message = body.get("result") or {}
                message_id = message.get("message_id")
                if message_id is None:
                    raise Rejected("telegram answered ok without a message_id", status=200)
                return Published(str(message_id), message_link(message.get("chat") or {}, chat, message_id),
                                 {"chat_id": str((message.get("chat") or {}).get("id", chat))})
            new_chat = (body.get("parameters") or {}).get("migrate_to_chat_id")
            if new_chat and chat != str(new_chat):
                # The group became a supergroup; nothing was posted, so sending again is safe.
                self.state.set("migrated_chat", {"from": configured, "to": str(new_chat)})
                continue
            self._raise(response, body, ctx)
        raise Rejected(f"telegram: chat {configured} keeps moving; set {self.channel.var('CHAT_ID')} to the "
                       f"supergroup's id", sent=False)

    def _raise(self, response, body: dict[str, Any], ctx: PublishContext) -> None:
        status = response.status_code
        description = str(body.get("description") or response.reason_phrase)[:300]
        now = ctx.now()
        if status == 429:
            wait = (body.get("parameters") or {}).get("retry_after")
            until = now + timedelta(seconds=float(wait)) if isinstance(wait, (int, float)) else None
            raise_for_status(response, platform="telegram", now=now, reset=until)
        if status in (400, 401, 403, 404):
            raise Rejected(f"telegram answered {status}: {description}; {self.fix_for(status, description)}",
                           status=status)
        raise_for_status(response, platform="telegram", now=now)
        raise Rejected(f"telegram answered {status}: {description}", status=status)   # 2xx with ok:false

    def fix_for(self, status: int, description: str) -> str:
        token, chat = self.channel.var("BOT_TOKEN"), self.channel.var("CHAT_ID")
        lowered = description.lower()
        if status in (401, 404):
            return f"{token} is wrong or was revoked; copy the token from @BotFather again"
        if status == 403:
            return f"add the bot to the chat in {chat} and allow it to post messages"
        if "chat not found" in lowered:
            return f"check {chat} (a numeric id like -100… or @channelname) and that the bot was added to it"
        if "parse entities" in lowered:
            return "the text has markup Telegram's HTML mode does not accept; check the template's tags"
        if "too long" in lowered:
            return "shorten the template or the teaser"
        return f"check {chat} and the post"

    async def check(self, client) -> str:
        self.require_settings()
        try:
            response = await self._call(client, "getMe")
        except PublishError as exc:
            raise self.check_failed(str(exc)) from None
        body = json_object(response)
        if response.status_code == 200 and body.get("ok"):
            bot = body.get("result") or {}
            return f"bot @{bot.get('username', '?')} posting to {self.chat_id()}"
        description = str(body.get("description") or response.reason_phrase)[:300]
        if response.status_code in (401, 404):
            raise self.check_failed(f"telegram answered {response.status_code} {description}",
                                    self.fix_for(401, description))
        raise self.check_failed(f"telegram getMe answered {response.status_code} {description}")

    async def chat_title(self, client) -> str:
        """getChat: the configured chat as the bot sees it; fails naming CHAT_ID when the bot is not in it."""
        self.require_settings()
        chat = self.chat_id()
        try:
            response = await self._call(client, "getChat", json={"chat_id": int(chat) if _NUMERIC.match(chat)
                                                                 else chat})
        except PublishError as exc:
            raise self.check_failed(str(exc)) from None
        body = json_object(response)
        if response.status_code == 200 and body.get("ok"):
            found = body.get("result") or {}
            return str(found.get("title") or found.get("username") or found.get("first_name") or chat)
        description = str(body.get("description") or response.reason_phrase)[:300]
        raise self.check_failed(f"telegram getChat {chat} answered {response.status_code} {description}",
                                f"add the bot to that chat (as an administrator allowed to post, for a channel) "
                                f"and check {self.channel.var('CHAT_ID')}")


RULES = TelegramRules
SENDER = TelegramSender
