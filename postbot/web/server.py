"""The dashboard's routes: each parses its request, calls one postbot.app use case, renders a page.
State changes are POSTs answered with a redirect (so reloading never repeats them)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from postbot import app as use
from postbot.errors import PostbotError, UsageError
from postbot.models import State
from postbot.redact import redact, remember_secret
from postbot.web.compose import read_pasted, save_article
from postbot.web.guard import (FEED_PATH, LOGIN_COOKIE, Guard, csrf_ok, csrf_token, feed_key, login_value, same,
                                set_cookies)

TEMPLATES = Path(__file__).parent / "templates"
STATE_ORDER = [s.value for s in State]


def create_app(settings, *, store=None, posts_dir: str | Path = "posts", token: str | None = None,
               allowed_hosts: list[str] = (), now=None):
    """The ASGI app over `settings`' store (or the one given). `now` is injectable for tests."""
    store = store or use.open_store(settings)
    clock = now or use.utcnow
    zone = settings.zone()
    posts_dir = Path(posts_dir)
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)

    def local(moment: datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
        return moment.astimezone(zone).strftime(fmt) if moment else "-"

    # The feed's address as the calendar page offers it; with a login token it carries the feed key,
    # which is then a secret like the token (masked in every log and error).
    feed_url = FEED_PATH
    if token:
        remember_secret(feed_key(token))
        feed_url = f"{FEED_PATH}?key={feed_key(token)}"

    pages.filters["local"] = local
    pages.filters["redact"] = lambda text: redact(str(text)) if text else ""
    # Beside each chip's colour, a mark for readers who cannot tell the colours apart.
    pages.globals["MARKS"] = {"publishing": "…", "published": "✓", "failed": "✗", "cancelled": "–",
                              "unknown": "?", "retrying": "↻"}

    def page(request: Request, name: str, status: int = 200, **context) -> Response:
        context.update(request=request, csrf=csrf_token(request), zone=str(zone), nav=name.split(".")[0])
        response = HTMLResponse(pages.get_template(name).render(**context), status_code=status)
        set_cookies(request, response)
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self' 'unsafe-inline'; " \
                                                      "img-src https: data:; form-action 'self'; frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def form_of(request: Request):
        form = await request.form()
        if not csrf_ok(request, form):
            return None
        return form

    def refused() -> Response:
        return HTMLResponse("<p>This form is out of date or came from another site. Reload the page and try "
                            "again.</p>", status_code=403)

    # ---- calendar ------------------------------------------------------------------------
    async def calendar(request: Request) -> Response:
        today = clock().astimezone(zone).date()
        view = request.query_params.get("view", "week")
        try:
            anchor = date.fromisoformat(request.query_params.get("start", today.isoformat()))
        except ValueError:
            anchor = today
        if view == "month":
            first = anchor.replace(day=1)
            start = first - timedelta(days=first.weekday())
            days = 42
            prev_start = (first - timedelta(days=1)).replace(day=1)
            next_start = (first + timedelta(days=32)).replace(day=1)
            title = first.strftime("%B %Y")
        else:
            view, start, days = "week", anchor - timedelta(days=anchor.weekday()), 7
            prev_start, next_start = start - timedelta(days=7), start + timedelta(days=7)
            title = f"Week of {start.strftime('%d %b %Y')}"
        week = use.calendar(settings, store, start, days)
        # One card per post and moment, its channels as chips.
        by_day: dict = {d: [] for d in week.days}
        for members in use.by_moment(week.deliveries):
            due_at, post_id = members[0].due_at, members[0].post_id
            by_day.setdefault(due_at.astimezone(zone).date(), []).append((due_at, post_id, members))
        per_day = {day: sum(len(members) for *_, members in cards) for day, cards in by_day.items()}
        now_at = clock()
        free_at: dict = {}
        for channel, moments in week.free_slots.items():
            for moment in moments:
                if moment > now_at:
                    free_at.setdefault(moment, []).append(channel)
        free_by_day: dict = {d: [] for d in week.days}
        for moment, names in sorted(free_at.items()):
            shown = "every channel" if len(names) == len(week.free_slots) > 2 else ", ".join(names)
            free_by_day.setdefault(moment.astimezone(zone).date(), []).append((moment, shown, names))
        channels = [c.name for c in settings.channels]
        return page(request, "calendar.html", view=view, titles=week.titles, title=title, days=week.days,
                    by_day=by_day, per_day=per_day, feed_url=feed_url,
                    free_by_day=free_by_day, today=today, month=anchor.month,
                    prev_start=prev_start, next_start=next_start, channels=channels,
                    counts={s: sum(1 for d in week.deliveries if d.state.value == s) for s in STATE_ORDER})

    async def calendar_feed(request: Request) -> Response:
        """The same iCalendar as `postbot calendar --ics`, for calendar apps to subscribe to."""
        from postbot.output_calendar import ics
        now = clock()
        try:
            entries = use.calendar_entries(settings, store, now, request.query_params.get("since"),
                                           since_option="since=")
        except UsageError as exc:
            return Response(f"{exc}\n", status_code=400, media_type="text/plain")
        body = ics(entries, settings, now, link_base=str(request.base_url))
        return Response(body, media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="postbot.ics"', "Cache-Control": "no-cache",
                                 "X-Content-Type-Options": "nosniff"})

    # ---- one delivery and its post -------------------------------------------------------
    async def delivery_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        try:
            delivery, attempts = use.show(store, int(request.path_params["id"]))
        except PostbotError as exc:
            return page(request, "message.html", 404, title="Not found", message=str(exc))
        from postbot.output_html import card
        siblings = store.of_post(delivery.post_id)
        snapshot = store.post_snapshot(delivery.post_id)
        cards = [card(use.stored_render(settings, store, d)) for d in siblings]
        return page(request, "delivery.html", status, delivery=delivery, attempts=attempts, siblings=siblings,
                    post=snapshot, error=error, cards=cards, card_css=_card_css())

    async def delivery_action(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return refused()
        delivery_id, action = int(request.path_params["id"]), request.path_params["action"]
        try:
            if action == "cancel":
                use.cancel(store, delivery_id, clock())
            elif action == "retry":
                use.retry(store, delivery_id, clock())
            elif action == "reschedule":
                use.reschedule(settings, store, delivery_id, (form.get("at") or "").strip() or "next", clock())
            elif action == "published":
                use.mark_published(store, delivery_id, (form.get("url") or "").strip() or None, clock())
            else:
                return page(request, "message.html", 404, title="Not found", message=f"no action {action!r}")
        except PostbotError as exc:
            return await delivery_page(request, error=redact(str(exc)), status=400)
        return RedirectResponse(f"/deliveries/{delivery_id}", status_code=303)

    # ---- compose -------------------------------------------------------------------------
    def compose_page(request: Request, status: int = 200, **context) -> Response:
        context.setdefault("form", {"kind": "plain", "at": "next", "channels": [c.name for c in settings.post_channels]})
        context.setdefault("errors", {})
        return page(request, "compose.html", status, all_channels=settings.channels, card_css=_card_css(), **context)

    async def compose(request: Request) -> Response:
        if request.method == "GET":
            return compose_page(request)
        form = await form_of(request)
        if form is None:
            return refused()
        values = {"article": form.get("article") or "", "kind": form.get("kind") or "plain",
                  "at": (form.get("at") or "next").strip(), "channels": form.getlist("channel"),
                  "repair": bool(form.get("repair")),
                  "overrides": {c.name: (form.get(f"teaser-{c.name}") or "").strip() for c in settings.channels}}
        errors: dict[str, str] = {}
        if not values["article"].strip():
            errors["article"] = "paste the article first (plain text like the blog post, or Markdown)"
        if not values["channels"]:
            errors["channel"] = "pick at least one channel"
        if errors:
            return compose_page(request, 400, form=values, errors=errors)
        try:
            post = read_pasted(values["article"], values["kind"], repair=values["repair"],
                               media_roots=settings.media_roots)
        except PostbotError as exc:
            return compose_page(request, 400, form=values, errors={"article": redact(str(exc))})
        _apply_overrides(post, values["overrides"])
        if form.get("action") != "queue":
            try:
                preview = use.preview(settings, store, post, values["channels"])
            except PostbotError as exc:
                return compose_page(request, 400, form=values, errors={"channel": redact(str(exc))})
            from postbot.output_html import card
            return compose_page(request, form=values, post=post, cards=[card(r) for r in preview.renders],
                                failures=preview.failures, warnings=preview.warnings)
        path = save_article(values["article"], values["kind"], post.title, posts_dir)
        post.source = str(path)       # the post previewed is the post queued: same slug, same links
        try:
            deliveries = use.queue(settings, store, post, values["channels"], at=values["at"], now=clock())
        except PostbotError as exc:
            path.unlink(missing_ok=True)
            field = "at" if "--at" in str(exc) or "publish_at" in str(exc) else "channel"
            return compose_page(request, 400, form=values, errors={field: redact(str(exc))})
        first = min(d.due_at for d in deliveries).astimezone(zone).date()
        return RedirectResponse(f"/calendar?start={first.isoformat()}&queued={deliveries[0].post_id}", status_code=303)

    # ---- status and login ----------------------------------------------------------------
    async def status(request: Request) -> Response:
        import asyncio
        offline = request.query_params.get("check") != "1"
        result = await asyncio.to_thread(use.status, settings, store, clock(), offline=offline)
        return page(request, "status.html", status_=result, checked=not offline)

    async def login(request: Request) -> Response:
        if request.method == "GET" or not token:
            return page(request, "login.html", error=None)
        form = await form_of(request)
        if form is None:
            return refused()
        if not same(form.get("token"), token):
            return page(request, "login.html", 403, error="That is not the POSTBOT_SERVE_TOKEN this dashboard runs with.")
        response = RedirectResponse("/calendar", status_code=303)
        response.set_cookie(LOGIN_COOKIE, login_value(token), httponly=True, samesite="strict", path="/")
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse("/calendar", status_code=303)

    routes = [Route("/", home), Route("/calendar", calendar), Route(FEED_PATH, calendar_feed), Route("/compose", compose, methods=["GET", "POST"]),
              Route("/deliveries/{id:int}", delivery_page),
              Route("/deliveries/{id:int}/{action}", delivery_action, methods=["POST"]),
              Route("/status", status), Route("/login", login, methods=["GET", "POST"])]
    async def not_found(request: Request, exc) -> Response:
        return page(request, "message.html", 404, title="Not found",
                    message=f"There is no page at {request.url.path}.")

    app = Starlette(routes=routes, exception_handlers={404: not_found})
    return Guard(app, allowed_hosts=list(allowed_hosts), token=token)


def _apply_overrides(post, teasers: dict[str, str]) -> None:
    """A teaser typed for one network wins there, like `overrides: {x: {teaser: ...}}` in front matter."""
    for channel, teaser in teasers.items():
        if teaser:
            post.overrides.setdefault(channel, {})["teaser"] = teaser


def _card_css() -> str:
    """The preview cards' own rules from `preview --html`, without its page-wide ones."""
    from postbot.output_html import CSS
    return "\n".join(line for line in CSS.splitlines() if not line.startswith(("body", "h1", ".grid", ".meta")))
