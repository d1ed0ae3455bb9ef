"""Meta's Graph APIs as the docs describe them (platforms.md §5-§7): Facebook Pages, Threads, Instagram.

Shared conventions, all strict:
- the token comes as `access_token` (form body or query) or `Authorization: Bearer`; where it came
  from is recorded so tests can prove it never travels in a URL;
- errors are the Graph error object `{"error": {message, type, code, error_subcode, fbtrace_id}}`;
  an unknown or expired token is code 190; unknown parameters and fields are code 100;
- `script` replies (keyed by edge name) let a test play throttling (codes 4/17/32/613/80001 with
  `X-Business-Use-Case-Usage`), transient errors (1, 2) and 5xx.

Threads and Instagram publish in two steps: a container (whose status a test can hold at
IN_PROGRESS for a number of polls, or for some seconds of the test's clock), then `threads_publish` / `media_publish`. A container is
published once; publishing it again is an error, never a second post.
"""
from __future__ import annotations

import itertools
import threading
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import regex

from tests.fakes.server import FakeServer, Reply, Request

URL = re.compile(r"https?://[^\s<>\"]+")


def graph_error(code: int, message: str, *, status: int = 400, subcode: int | None = None,
                kind: str = "OAuthException", user_msg: str | None = None,
                headers: dict[str, str] | None = None, **extra: Any) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_msg:
        error["error_user_msg"] = user_msg
    error.update(extra)
    return Reply(status, {"error": error}, headers or {})


class GraphFake(FakeServer):
    """Tokens, token placement, fields and parameters: what every Graph endpoint checks."""

    def __init__(self) -> None:
        super().__init__()
        # Poll for shutdown often: each test starts and stops its own server.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.tokens: dict[str, dict[str, Any]] = {}    # token -> {"owner": id, "expired": bool}
        self.token_places: list[str] = []              # "header", "body" or "query", per call
        self.script: dict[str, list[Reply]] = {}       # edge -> replies to give first
        self._ids = itertools.count(17841400000000001)

    def new_id(self) -> str:
        return str(next(self._ids))

    def grant(self, token: str, owner: str, expired: bool = False) -> None:
        self.tokens[token] = {"owner": owner, "expired": expired}

    def scripted(self, edge: str) -> Reply | None:
        with self.lock:
            queue = self.script.get(edge)
            return queue.pop(0) if queue else None

    def params(self, request: Request) -> dict[str, str]:
        merged = request.args()
        if request.method == "POST" and request.body:
            merged.update(request.fields())
        return merged

    def authenticate(self, request: Request, params: dict[str, str]) -> tuple[str | None, Reply | None]:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            token, place = header[len("Bearer "):], "header"
        elif "access_token" in request.query:
            token, place = request.query["access_token"][-1], "query"
        elif "access_token" in params:
            token, place = params["access_token"], "body"
        else:
            return None, graph_error(2500, "An active access token must be used to query information about "
                                           "the current user.")
        self.token_places.append(place)
        grant = self.tokens.get(token)
        if grant is None:
            return None, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if grant["expired"]:
            return None, graph_error(190, "Error validating access token: Session has expired on Friday, "
                                          "27-Nov-26 01:00:00 PST.", subcode=463)
        return grant["owner"], None

    def unknown_params(self, params: dict[str, str], allowed: set[str]) -> Reply | None:
        extra = sorted(set(params) - allowed - {"access_token"})
        if extra:
            return graph_error(100, f"(#100) Param {extra[0]} is not valid", kind="GraphMethodException")
        return None

    def unknown_fields(self, params: dict[str, str], allowed: set[str], node: str) -> Reply | None:
        fields = [f for f in params.get("fields", "").split(",") if f]
        extra = [f for f in fields if f not in allowed]
        if extra:
            return graph_error(100, f"(#100) Tried accessing nonexisting field ({extra[0]}) on node type ({node})")
        return None


# ---- Facebook Pages ---------------------------------------------------------------------------
class FacebookFake(GraphFake):
    FEED_PARAMS = {"message", "link", "published", "scheduled_publish_time"}
    PHOTO_PARAMS = {"url", "message", "alt_text_custom", "published"}

    def __init__(self, page_id: str = "1122334455", name: str = "Lewis Robinson Fitness") -> None:
        super().__init__()
        self.page_id, self.page_name = page_id, name
        self.posts: dict[str, dict[str, Any]] = {}
        self._post_ids = itertools.count(900000000000001)
        self.route("POST", "/{version}/{page}/feed", self.feed)
        self.route("POST", "/{version}/{page}/photos", self.photos)
        self.route("GET", "/{version}/{page}", self.page)

    def _common(self, request: Request, edge: str, allowed: set[str] | None):
        if not re.fullmatch(r"v\d+\.\d+", request.params["version"]):
            return None, None, graph_error(2500, f"Unknown path components: /{request.params['version']}")
        params = self.params(request)
        owner, refused = self.authenticate(request, params)
        if refused:
            return None, None, refused
        if request.params["page"] != self.page_id:
            return None, None, graph_error(100, f"(#100) Object with ID '{request.params['page']}' does not exist, "
                                                f"cannot be loaded due to missing permissions, or does not support "
                                                f"this operation", subcode=33, kind="GraphMethodException")
        if owner != self.page_id:
            return None, None, graph_error(200, "(#200) The user hasn't authorized the application to perform "
                                                "this action", kind="OAuthException")
        scripted = self.scripted(edge)
        if scripted:
            return None, None, scripted
        if allowed is not None:
            refused = self.unknown_params(params, allowed)
            if refused:
                return None, None, refused
        return params, owner, None

    def _store(self, kind: str, params: dict[str, str]) -> str:
        post_id = f"{self.page_id}_{next(self._post_ids)}"
        with self.lock:
            self.posts[post_id] = {"kind": kind, **{k: v for k, v in params.items() if k != "access_token"}}
        return post_id

    def feed(self, request: Request) -> Reply:
        params, _, refused = self._common(request, "feed", self.FEED_PARAMS)
        if refused:
            return refused
        if not params.get("message") and not params.get("link"):
            return graph_error(100, "(#100) Missing message or attachment", kind="GraphMethodException")
        if params.get("link") and not URL.fullmatch(params["link"]):
            return graph_error(100, "(#100) The link must be a valid URL", kind="GraphMethodException")
        # Facebook builds a feed post's link card from `link` only (pages/publishing). A message with
        # links but no `link` would go out without its card: strict here, so that bug cannot pass.
        if not params.get("link") and URL.search(params.get("message", "")):
            return graph_error(100, "(#100) The message has links but no `link` parameter: no link card "
                                    "would be built", kind="GraphMethodException")
        return Reply(200, {"id": self._store("feed", params)})

    def photos(self, request: Request) -> Reply:
        params, _, refused = self._common(request, "photos", self.PHOTO_PARAMS)
        if refused:
            return refused
        if not URL.fullmatch(params.get("url", "")):
            return graph_error(324, "(#324) Requires upload file", kind="OAuthException")
        post_id = self._store("photo", params)
        return Reply(200, {"id": self.new_id(), "post_id": post_id})

    def page(self, request: Request) -> Reply:
        params, _, refused = self._common(request, "page", None)
        if refused:
            return refused
        refused = self.unknown_fields(params, {"id", "name"}, "Page")
        if refused:
            return refused
        return Reply(200, {"id": self.page_id, "name": self.page_name})


# ---- Threads and Instagram: containers ------------------------------------------------------------
class ContainerFake(GraphFake):
    """One account of a two-step publishing API, served under /{version}."""

    version = ""
    create_edge = publish_edge = ""
    status_field = ""
    status_fields: set[str] = set()
    text_field = ""
    create_params: set[str] = set()
    node_fields: set[str] = set()
    refresh_grant = ""                                   # GET /refresh_access_token's grant_type
    LONG_LIVED_SECONDS = 60 * 24 * 3600

    def __init__(self, user_id: str, username: str) -> None:
        super().__init__()
        self.user_id, self.username = user_id, username
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}      # published posts, in publishing order
        self.processing_polls = 0                        # status reads answering IN_PROGRESS per container
        self.processing_seconds = 0.0                    # or: IN_PROGRESS until this long after creation,
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)   # by this clock
        self.publish_delay = 0.0                         # seconds to sit on a publish answer (after publishing)
        v = self.version
        self.route("POST", f"/{v}/{{user}}/{self.create_edge}", self.create)
        self.route("POST", f"/{v}/{{user}}/{self.publish_edge}", self.publish)
        self.route("GET", f"/{v}/{{user}}/{self.create_edge}", self.listing)
        self.route("GET", f"/{v}/{{node}}", self.node)
        self.route("GET", "/refresh_access_token", self.refresh_token)
        self.renewed: list[str] = []                    # tokens handed out by refresh_access_token

    @property
    def api_url(self) -> str:
        return f"{self.url}/{self.version}"

    def _user_call(self, request: Request, edge: str) -> tuple[dict[str, str] | None, Reply | None]:
        params = self.params(request)
        owner, refused = self.authenticate(request, params)
        if refused:
            return None, refused
        if request.params["user"] not in (self.user_id, "me") or owner != self.user_id:
            return None, graph_error(100, f"(#100) Object with ID '{request.params['user']}' does not exist",
                                     subcode=33, kind="GraphMethodException")
        return params, self.scripted(edge)

    def check_container(self, params: dict[str, str]) -> Reply | None:
        raise NotImplementedError

    def refresh_token(self, request: Request) -> Reply:
        """GET /refresh_access_token?grant_type=th_refresh_token|ig_refresh_token: a valid, unexpired
        long-lived token buys a new one valid 60 days (the old one stays valid until its own expiry)."""
        params = self.params(request)
        if params.get("grant_type") != self.refresh_grant:
            return graph_error(100, f"(#100) Param grant_type must be {self.refresh_grant}")
        owner, denied = self.authenticate(request, params)
        if denied:
            return denied
        token = f"{self.refresh_grant[:2].upper()}renewed-{len(self.renewed) + 1}-{owner}"
        self.grant(token, owner=owner)
        self.renewed.append(token)
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": self.LONG_LIVED_SECONDS})

    def create(self, request: Request) -> Reply:
        params, refused = self._user_call(request, self.create_edge)
        if refused:
            return refused
        refused = self.unknown_params(params, self.create_params) or self.check_container(params)
        if refused:
            return refused
        container = self.new_id()
        with self.lock:
            self.containers[container] = {"params": {k: v for k, v in params.items() if k != "access_token"},
                                          "status": "IN_PROGRESS", "polls_left": self.processing_polls,
                                          "ready_at": self.clock() + timedelta(seconds=self.processing_seconds),
                                          "status_reads": []}
            if not self.processing_polls and not self.processing_seconds:
                self.containers[container]["status"] = "FINISHED"
        return Reply(200, {"id": container})

    def publish(self, request: Request) -> Reply:
        params, refused = self._user_call(request, self.publish_edge)
        if refused:
            return refused
        refused = self.unknown_params(params, {"creation_id"})
        if refused:
            return refused
        with self.lock:
            container = self.containers.get(params.get("creation_id", ""))
            if container is None:
                return graph_error(100, "(#100) Param creation_id is not a valid container",
                                   kind="GraphMethodException")
            if container["status"] == "PUBLISHED":
                return graph_error(100, "(#100) This container has already been published", kind="GraphMethodException")
            if container["status"] != "FINISHED":
                return graph_error(9007, "The media is not ready for publishing, please wait for a moment",
                                   subcode=2207027, kind="OAuthException", user_msg="Media ID is not available")
            media_id = self.new_id()
            container["status"], container["media_id"] = "PUBLISHED", media_id
            container["published_at"] = self.clock()
            self.media[media_id] = {"id": media_id, self.text_field: container["params"].get(self.text_field, ""),
                                    "params": container["params"], "permalink": self.permalink(media_id)}
        return Reply(200, {"id": media_id}, delay=self.publish_delay)

    def permalink(self, media_id: str) -> str:
        raise NotImplementedError

    def listing(self, request: Request) -> Reply:
        params, refused = self._user_call(request, "listing")
        if refused:
            return refused
        refused = self.unknown_fields(params, {"id", self.text_field, "permalink", "timestamp"}, "User")
        if refused:
            return refused
        limit = int(params.get("limit", "25"))
        with self.lock:
            newest = list(self.media.values())[::-1][:limit]
        wanted = [f for f in params.get("fields", "id").split(",") if f]
        return Reply(200, {"data": [{f: item[f] for f in wanted if f in item} for item in newest]})

    def node(self, request: Request) -> Reply:
        params = self.params(request)
        owner, refused = self.authenticate(request, params)
        if refused:
            return refused
        node = request.params["node"]
        scripted = self.scripted("node")
        if scripted:
            return scripted
        with self.lock:
            if node == self.user_id:
                refused = self.unknown_fields(params, {"id", "username", "name"}, "User")
                return refused or Reply(200, {"id": self.user_id, "username": self.username})
            if node in self.containers:
                refused = self.unknown_fields(params, self.status_fields, "Container")
                if refused:
                    return refused
                container = self.containers[node]
                container["status_reads"].append(self.clock())
                if container["status"] == "IN_PROGRESS":
                    container["polls_left"] -= 1
                    if container["polls_left"] < 0 and self.clock() >= container["ready_at"]:
                        container["status"] = "FINISHED"
                answer = {"id": node, self.status_field: container["status"]}
                answer.update(container.get("error", {}))
                return Reply(200, answer)
            if node in self.media:
                refused = self.unknown_fields(params, self.node_fields, "Media")
                if refused:
                    return refused
                item = self.media[node]
                return Reply(200, {"id": node, "permalink": item["permalink"]})
        return graph_error(100, f"(#100) Object with ID '{node}' does not exist", subcode=33,
                           kind="GraphMethodException")


def threads_length(value: str) -> int:
    """Threads' rule: emoji count as their UTF-8 bytes, everything else as code points."""
    total = 0
    for cluster in regex.findall(r"\X", value):
        if regex.search(r"\p{Extended_Pictographic}|\p{Regional_Indicator}", cluster):
            total += len(cluster.encode("utf-8"))
        else:
            total += len(cluster)
    return total


class ThreadsFake(ContainerFake):
    version = "v1.0"
    refresh_grant = "th_refresh_token"
    create_edge, publish_edge = "threads", "threads_publish"
    status_field = "status"
    status_fields = {"id", "status", "error_message"}
    text_field = "text"
    node_fields = {"id", "permalink", "text", "timestamp", "media_type", "shortcode"}
    create_params = {"media_type", "text", "link_attachment", "image_url", "video_url", "alt_text",
                     "reply_to_id", "reply_control", "quote_post_id", "auto_publish_text", "is_carousel_item",
                     "topic_tag", "location_id"}
    TEXT_MAX, LINKS_MAX = 500, 5

    def __init__(self, user_id: str = "25000000000001", username: str = "lewisrobinsonfitness") -> None:
        super().__init__(user_id, username)

    def check_container(self, params: dict[str, str]) -> Reply | None:
        if params.get("media_type") not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return graph_error(100, "(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}",
                               kind="THApiException")
        text = params.get("text", "")
        if params["media_type"] == "TEXT" and not text:
            return graph_error(100, "(#100) Param text is required for TEXT posts", kind="THApiException")
        if threads_length(text) > self.TEXT_MAX:
            return graph_error(100, f"(#100) Param text must be at most {self.TEXT_MAX} characters long.",
                               kind="THApiException")
        topic = params.get("topic_tag")
        if topic is not None and not (1 <= len(topic) <= 50 and not set(topic) & set(".&")):
            return graph_error(100, "(#100) Param topic_tag must be 1-50 characters without periods (.) or "
                                    "ampersands (&)", kind="THApiException")
        links = set(URL.findall(text)) | ({params["link_attachment"]} if params.get("link_attachment") else set())
        if len(links) > self.LINKS_MAX:
            return graph_error(100, "The post has more than 5 distinct links", kind="THApiException",
                               error_user_title="THREADS_API__LINK_LIMIT_EXCEEDED",
                               user_msg=f"THREADS_API__LINK_LIMIT_EXCEEDED: {len(links)} links; at most "
                                        f"{self.LINKS_MAX} are allowed")
        return None

    def permalink(self, media_id: str) -> str:
        return f"https://www.threads.net/@{self.username}/post/C{media_id[-6:]}"


class InstagramFake(ContainerFake):
    version = "v25.0"
    refresh_grant = "ig_refresh_token"
    create_edge, publish_edge = "media", "media_publish"
    status_field = "status_code"
    status_fields = {"id", "status_code", "status", "copyright_check_status"}
    text_field = "caption"
    node_fields = {"id", "permalink", "caption", "timestamp", "media_type", "shortcode"}
    create_params = {"image_url", "caption", "alt_text", "media_type", "is_carousel_item", "user_tags",
                     "location_id", "video_url", "children"}
    CAPTION_MAX, HASHTAGS_MAX = 2200, 30

    def __init__(self, user_id: str = "17841400000000099", username: str = "lewisrobinsonfitness") -> None:
        super().__init__(user_id, username)

    def check_container(self, params: dict[str, str]) -> Reply | None:
        image = params.get("image_url", "")
        if not image:
            return graph_error(100, "(#100) The parameter image_url is required", kind="OAuthException")
        if not URL.fullmatch(image) or not image.split("?")[0].lower().endswith((".jpg", ".jpeg")):
            return graph_error(9004, "Only photo or video can be accepted as media type.", subcode=2207052,
                               user_msg="The media could not be fetched from this URI: only public JPEG "
                                        "images are supported")
        caption = params.get("caption", "")
        if len(caption.encode("utf-16-le")) // 2 > self.CAPTION_MAX:
            return graph_error(100, "(#100) The caption is too long", subcode=2207010,
                               user_msg=f"The caption exceeds {self.CAPTION_MAX} characters")
        hashtags = len(regex.findall(r"(?<![\w&])#\w+", caption))
        if hashtags > self.HASHTAGS_MAX:
            return graph_error(100, "(#100) Too many hashtags", subcode=2207012,
                               user_msg=f"The caption has {hashtags} hashtags; at most {self.HASHTAGS_MAX} are allowed")
        return None

    def permalink(self, media_id: str) -> str:
        return f"https://www.instagram.com/p/D{media_id[-8:]}/"


def sent_before_a_crash(fake: ContainerFake, payload: dict[str, str], token: str, *, publish: bool = True) -> str:
    """What a daemon killed mid-publish had already done over HTTP: the container created and, unless
    `publish` is false, published. Returns the container id."""
    import httpx
    created = httpx.post(f"{fake.api_url}/{fake.user_id}/{fake.create_edge}", data={**payload, "access_token": token})
    container = created.json()["id"]
    if publish:
        httpx.post(f"{fake.api_url}/{fake.user_id}/{fake.publish_edge}",
                   data={"creation_id": container, "access_token": token})
    return container
