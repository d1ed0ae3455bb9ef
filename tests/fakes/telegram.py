"""A strict Telegram Bot API: token in the path, HTML parse mode parsed the way Telegram documents it,
lengths counted after parsing in UTF-16 units, and its 400/401/403/429 bodies."""
from __future__ import annotations

import html
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.server import FakeServer, Reply, Request

TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghij"
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                "code", "pre", "blockquote"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SEND_FIELDS = {"chat_id", "text", "parse_mode", "entities", "link_preview_options", "disable_notification",
               "protect_content", "reply_parameters", "message_thread_id", "reply_markup", "business_connection_id",
               "message_effect_id", "allow_paid_broadcast"}
PHOTO_FIELDS = {"chat_id", "photo", "caption", "parse_mode", "caption_entities", "show_caption_above_media",
                "has_spoiler", "disable_notification", "protect_content", "reply_parameters", "message_thread_id",
                "reply_markup", "business_connection_id", "message_effect_id", "allow_paid_broadcast"}
_START_TAG = re.compile(r'<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*"[^"<>]*")*)\s*>')
_END_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_ATTR = re.compile(r'([a-zA-Z-]+)\s*=\s*"([^"]*)"')
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


class ParseError(ValueError):
    pass


def utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def parse_html(markup: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML style: returns the visible text and its entities, or raises ParseError."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    position = 0
    offset = 0          # UTF-16 offset in the visible text
    while position < len(markup):
        char = markup[position]
        byte_offset = len(markup[:position].encode())
        if char == "<":
            end = _END_TAG.match(markup, position)
            if end:
                name = end.group(1).lower()
                if not stack or stack[-1][0] != name:
                    raise ParseError(f"Can't find end tag corresponding to start tag \"{name}\"" if not stack else
                                     f"Unmatched end tag at byte offset {byte_offset}, expected \"</{stack[-1][0]}>\", "
                                     f"found \"</{name}>\"")
                tag, start, attrs = stack.pop()
                entities.append(_entity(tag, start, offset - start, attrs))
                position = end.end()
                continue
            start_tag = _START_TAG.match(markup, position)
            if not start_tag:
                raise ParseError(f"Unexpected end of name token at byte offset {byte_offset}")
            name = start_tag.group(1).lower()
            attrs = dict(_ATTR.findall(start_tag.group(2)))
            if name not in ALLOWED_TAGS:
                raise ParseError(f"Unsupported start tag \"{name}\" at byte offset {byte_offset}")
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise ParseError(f"Tag \"span\" must have class \"tg-spoiler\" at byte offset {byte_offset}")
            if name == "a" and "href" not in attrs:
                raise ParseError(f"Tag \"a\" must have attribute \"href\" at byte offset {byte_offset}")
            stack.append((name, offset, {k: html.unescape(v) for k, v in attrs.items()}))
            position = start_tag.end()
            continue
        if char == ">":
            raise ParseError(f"Character '>' is reserved and must be escaped with \"&gt;\" at byte offset {byte_offset}")
        if char == "&":
            entity = _ENTITY.match(markup, position)
            if not entity or not (entity.group(1).startswith("#") or entity.group(1) in NAMED_ENTITIES):
                raise ParseError(f"Character '&' is reserved and must be escaped with \"&amp;\" "
                                 f"at byte offset {byte_offset}")
            name = entity.group(1)
            decoded = (chr(int(name[2:], 16)) if name.startswith("#x") else
                       chr(int(name[1:])) if name.startswith("#") else NAMED_ENTITIES[name])
            out.append(decoded)
            offset += utf16_units(decoded)
            position = entity.end()
            continue
        out.append(char)
        offset += utf16_units(char)
        position += 1
    if stack:
        raise ParseError(f"Can't find end tag corresponding to start tag \"{stack[-1][0]}\"")
    return "".join(out), sorted(entities, key=lambda e: e["offset"])


def _entity(tag: str, start: int, length: int, attrs: dict[str, str]) -> dict[str, Any]:
    kinds = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
             "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
             "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote"}
    entity: dict[str, Any] = {"type": kinds[tag], "offset": start, "length": length}
    if tag == "a":
        entity["url"] = attrs["href"]
    return entity


def tune(server: FakeServer) -> None:
    """Answer without Nagle's 40 ms stall and stop within 20 ms, so each test stays fast."""
    server.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.thread = threading.Thread(target=lambda: server.httpd.serve_forever(poll_interval=0.02), daemon=True)


def parse_form_data(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """multipart/form-data -> (fields, files{name: (filename, content type, bytes)})."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValueError("not multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields, files


@dataclass
class Chat:
    id: int
    type: str = "supergroup"
    username: str | None = None
    title: str = "Test chat"
    bot_member: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Sent:
    chat: Chat
    message_id: int
    method: str
    fields: dict[str, Any]
    visible: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: bytes | str | None = None


class FakeTelegram(FakeServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        tune(self)
        self.token = token
        self.chats: dict[str, Chat] = {}
        self.migrations: dict[int, int] = {}             # group id -> supergroup id (migrate mode)
        self.rate_limit: int | None = None               # seconds; answers 429 while set (rate-limit mode)
        self.outage: int | None = None                   # a 5xx status to answer with while set
        self.sent: list[Sent] = []
        self.next_id = 41
        self.add_chat(Chat(-1001234567890, username=None, title="Private supergroup"))
        self.add_chat(Chat(-1009876543210, type="channel", username="postbot_news", title="Public channel"))
        self.route("POST", "/bot{token}/getMe", self.get_me)
        self.route("GET", "/bot{token}/getMe", self.get_me)
        self.route("POST", "/bot{token}/getChat", self.get_chat)
        self.route("POST", "/bot{token}/sendMessage", lambda r: self.send(r, "sendMessage"))
        self.route("POST", "/bot{token}/sendPhoto", lambda r: self.send(r, "sendPhoto"))

    def add_chat(self, chat: Chat) -> Chat:
        self.chats[str(chat.id)] = chat
        if chat.username:
            self.chats["@" + chat.username] = chat
        return chat

    # ---- answers ---------------------------------------------------------------------------
    @staticmethod
    def error(status: int, description: str, **parameters: Any) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return Reply(status, body)

    def authorised(self, request: Request) -> bool:
        return request.params.get("token") == self.token

    def get_me(self, request: Request) -> Reply:
        if not self.authorised(request):
            return self.error(401, "Unauthorized")
        return Reply(200, {"ok": True, "result": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                                  "first_name": "Postbot", "username": "postbot_test_bot"}})

    def get_chat(self, request: Request) -> Reply:
        """getChat: the chat if the bot is in it; 400 'chat not found' otherwise, as the Bot API answers."""
        if not self.authorised(request):
            return self.error(401, "Unauthorized")
        try:
            fields, _ = self.fields_of(request)
        except (ValueError, json.JSONDecodeError):
            return self.error(400, "Bad Request: invalid request body")
        chat = self.chats.get(str(fields.get("chat_id", "")))
        if chat is None or not chat.bot_member:
            return self.error(400, "Bad Request: chat not found")
        return Reply(200, {"ok": True, "result": chat.to_json()})

    def fields_of(self, request: Request) -> tuple[dict[str, Any], bytes | None]:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = request.json()
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
            return body, None
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_form_data(request)
            decoded: dict[str, Any] = dict(fields)
            for key in ("link_preview_options", "reply_parameters"):
                if key in decoded:
                    decoded[key] = json.loads(decoded[key])
            photo = files.get("photo")
            return decoded, (photo[2] if photo else None)
        if content_type.startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in request.form().items()}, None
        raise ValueError("unsupported content type")

    def send(self, request: Request, method: str) -> Reply:
        if not self.authorised(request):
            return self.error(401, "Unauthorized")
        if self.outage:
            return self.error(self.outage, "Internal Server Error")
        if self.rate_limit:
            return self.error(429, f"Too Many Requests: retry after {self.rate_limit}", retry_after=self.rate_limit)
        try:
            fields, upload = self.fields_of(request)
        except (ValueError, json.JSONDecodeError):
            return self.error(400, "Bad Request: invalid request body")
        allowed = SEND_FIELDS if method == "sendMessage" else PHOTO_FIELDS
        # The Bot API ignores unknown parameters; a strict fake reports them so tests catch typos.
        unknown = set(fields) - allowed
        if unknown:
            return self.error(400, f"Bad Request: unknown parameters {sorted(unknown)}")
        chat_key = str(fields.get("chat_id", ""))
        if not chat_key:
            return self.error(400, "Bad Request: chat_id is empty")
        if chat_key.lstrip("-").isdigit() and int(chat_key) in self.migrations:
            return self.error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                              migrate_to_chat_id=self.migrations[int(chat_key)])
        chat = self.chats.get(chat_key)
        if chat is None:
            return self.error(400, "Bad Request: chat not found")
        if not chat.bot_member:
            return self.error(403, "Forbidden: bot is not a member of the channel chat")
        text_field, limit = ("text", TEXT_LIMIT) if method == "sendMessage" else ("caption", CAPTION_LIMIT)
        markup = str(fields.get(text_field, ""))
        if fields.get("parse_mode") not in (None, "HTML", "MarkdownV2", "Markdown"):
            return self.error(400, "Bad Request: unsupported parse_mode")
        if fields.get("parse_mode") == "HTML":
            try:
                visible, entities = parse_html(markup)
            except ParseError as exc:
                return self.error(400, f"Bad Request: can't parse entities: {exc}")
        else:
            visible, entities = markup, []
        if method == "sendMessage" and not visible.strip():
            return self.error(400, "Bad Request: message text is empty")
        if utf16_units(visible) > limit:
            return self.error(400, "Bad Request: message is too long" if method == "sendMessage"
                              else "Bad Request: message caption is too long")
        photo: bytes | str | None = None
        if method == "sendPhoto":
            photo = upload if upload is not None else fields.get("photo")
            if not photo:
                return self.error(400, "Bad Request: there is no photo in the request")
        with self.lock:
            self.next_id += 1
            message_id = self.next_id
            self.sent.append(Sent(chat, message_id, method, fields, visible, entities, photo))
        result: dict[str, Any] = {"message_id": message_id, "date": 1764579600, "chat": chat.to_json()}
        if method == "sendMessage":
            result.update(text=visible, entities=entities)
        else:
            result.update(caption=visible, caption_entities=entities,
                          photo=[{"file_id": f"photo-{message_id}", "file_unique_id": f"u{message_id}",
                                  "width": 800, "height": 600}])
        return Reply(200, {"ok": True, "result": result})
