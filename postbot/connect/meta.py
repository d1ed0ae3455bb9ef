"""Meta: Facebook Pages and Instagram through Facebook Login (the code exchanged for a short-lived user
token, then fb_exchange_token for the 60-day one, then the Page or its Instagram account picked from
/me/accounts), and Threads through its own authorization window (the code, then th_exchange_token for
the 60-day token whose expiry is stored, so postbot renews it in time). No PKCE: Meta's web login flows
authenticate the app with its secret."""
from __future__ import annotations

from datetime import datetime, timezone

from postbot.connect import Connected, candidate
from postbot.connect.oauth import REGISTERED_REDIRECT, browser_authorization, call_json
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender
from postbot.platforms.facebook import DEFAULT_API_URL as FACEBOOK_GRAPH, DEFAULT_VERSION
from postbot.platforms.lifetime import expiry_after
from postbot.platforms.meta import bearer

APPS = "https://developers.facebook.com/apps"
FACEBOOK_SCOPES = ["pages_show_list", "pages_manage_posts", "pages_read_engagement"]
INSTAGRAM_SCOPES = ["instagram_basic", "instagram_content_publish", "pages_show_list", "pages_read_engagement"]
THREADS_SCOPES = ["threads_basic", "threads_content_publish"]
THREADS_AUTHORIZE = "https://threads.com/oauth/authorize"
META_LOGIN = {"pkce": False, "scope_separator": ","}      # how Meta's login windows take an authorization


def _app_steps(term: Terminal, use_case: str, where_redirect: str, which_id: str) -> None:
    term.say(f"  1. Open {APPS} > Create app, use case '{use_case}'.")
    term.say(f"  2. {where_redirect}: add {REGISTERED_REDIRECT} (or the address you give below).")
    term.say(f"  3. App settings > Basic: copy the {which_id} and its app secret.")


async def _facebook_user_token(term: Terminal, channel: Channel, client, graph: str, scopes: list[str],
                               use_case: str) -> tuple[str, str | None]:
    """Facebook Login: the long-lived (60-day) user token and when it expires."""
    _app_steps(term, use_case, "Facebook Login for Business > Settings > Valid OAuth Redirect URIs", "App ID")
    app_id = term.ask("App ID")
    secret = term.secret("App secret")
    dialog = channel.setting("AUTHORIZE_URL") or f"https://www.facebook.com/{graph.rsplit('/', 1)[-1]}/dialog/oauth"
    code, redirect_uri, _ = browser_authorization(term, channel, dialog, scopes, client_id=app_id, **META_LOGIN,
                                                  click="Continue, choose the Page(s) postbot may use, and Save")
    fix = "check the App ID and secret (App settings > Basic) and the Valid OAuth Redirect URIs, then run postbot " \
          "connect again"
    short = await call_json(client, "GET", graph + "/oauth/access_token", what="exchanging the code", fix=fix,
                            params={"client_id": app_id, "client_secret": secret, "redirect_uri": redirect_uri,
                                    "code": code})
    long = await call_json(client, "GET", graph + "/oauth/access_token", what="getting the long-lived token",
                           fix=fix, params={"grant_type": "fb_exchange_token", "client_id": app_id,
                                            "client_secret": secret,
                                            "fb_exchange_token": str(short.get("access_token") or "")})
    if not long.get("access_token"):
        raise ConfigError("Facebook answered without a long-lived token; run postbot connect again")
    return str(long["access_token"]), expiry_after(datetime.now(timezone.utc), long.get("expires_in"))


async def _pages(client, graph: str, user_token: str, fields: str) -> list[dict]:
    answer = await call_json(client, "GET", graph + "/me/accounts", what="listing your Pages",
                             fix="run postbot connect again and allow pages_show_list",
                             params={"fields": fields, "limit": "100"}, headers=bearer(user_token))
    return [page for page in answer.get("data") or [] if isinstance(page, dict) and page.get("id")]


async def connect_facebook(term: Terminal, channel: Channel, client) -> Connected:
    term.say("Facebook: postbot posts to a Page you manage, through your own Meta app.")
    graph = make_sender(channel).graph_url()
    user_token, _ = await _facebook_user_token(term, channel, client, graph, FACEBOOK_SCOPES,
                                               "Manage everything on your Page")
    pages = [page for page in await _pages(client, graph, user_token, "id,name,access_token")
             if page.get("access_token")]
    if not pages:
        raise ConfigError("Facebook listed no Page postbot may post to; run postbot connect facebook again and tick "
                          "the Page at 'Choose the Pages'")
    page = pages[term.choose("Post to", [f"{p.get('name')} ({p['id']})" for p in pages])]
    # A Page token made from a long-lived user token does not expire.
    settings = {"PAGE_ID": str(page["id"]), "PAGE_TOKEN": str(page["access_token"])}
    who = await make_sender(candidate(channel, **settings)).check(client)
    return Connected(settings, who)


async def connect_instagram(term: Terminal, channel: Channel, client) -> Connected:
    term.say("Instagram: postbot posts to a professional account connected to a Facebook Page you manage,")
    term.say("through your own Meta app and Facebook Login.")
    graph = (channel.setting("API_URL") or "").rstrip("/")
    if not graph or "graph.instagram.com" in graph:
        graph = f"{FACEBOOK_GRAPH}/{DEFAULT_VERSION}"
    user_token, expires_at = await _facebook_user_token(term, channel, client, graph, INSTAGRAM_SCOPES,
                                                        "Manage messaging & content on Instagram")
    pages = await _pages(client, graph, user_token, "id,name,instagram_business_account{id,username}")
    linked = [p for p in pages if isinstance(p.get("instagram_business_account"), dict)]
    if not linked:
        raise ConfigError("none of the Pages you allowed has an Instagram professional account connected; connect it "
                          "(Page settings > Linked accounts > Instagram), then run postbot connect instagram again")
    labels = [f"@{p['instagram_business_account'].get('username') or '?'} (Page {p.get('name')})" for p in linked]
    account = linked[term.choose("Post as", labels)]["instagram_business_account"]
    settings = {"USER_ID": str(account["id"]), "ACCESS_TOKEN": user_token, "API_URL": graph, "LOGIN": "facebook"}
    if expires_at:
        settings["TOKEN_EXPIRES_AT"] = expires_at
    who = await make_sender(candidate(channel, **settings)).check(client)
    notes = [f"a Facebook Login token lasts 60 days and cannot renew itself: `postbot status` warns a week ahead; "
             f"then run `postbot connect instagram --name {channel.name}` again"]
    return Connected(settings, who, notes)


async def connect_threads(term: Terminal, channel: Channel, client) -> Connected:
    term.say("Threads: postbot posts through your own Meta app with the Threads use case.")
    _app_steps(term, "Access the Threads API", "Use cases > Access the Threads API > Customize > Settings > "
               "Redirect Callback URLs", "Threads App ID")
    app_id = term.ask("Threads App ID")
    secret = term.secret("Threads app secret")
    root = make_sender(channel).root_url()
    authorize = channel.setting("AUTHORIZE_URL") or THREADS_AUTHORIZE
    code, redirect_uri, _ = browser_authorization(term, channel, authorize, THREADS_SCOPES, client_id=app_id,
                                                  **META_LOGIN, click="Allow")
    fix = ("check the Threads App ID and secret (App settings > Basic) and the Redirect Callback URLs, then run "
           "postbot connect threads again")
    short = await call_json(client, "POST", root + "/oauth/access_token", what="exchanging the code", fix=fix,
                            data={"client_id": app_id, "client_secret": secret, "grant_type": "authorization_code",
                                  "redirect_uri": redirect_uri, "code": code})
    long = await call_json(client, "GET", root + "/access_token", what="getting the long-lived token", fix=fix,
                           params={"grant_type": "th_exchange_token", "client_secret": secret,
                                   "access_token": str(short.get("access_token") or "")})
    if not long.get("access_token") or not short.get("user_id"):
        raise ConfigError("Threads answered without a long-lived token or user id; run postbot connect threads again")
    settings = {"USER_ID": str(short["user_id"]), "ACCESS_TOKEN": str(long["access_token"])}
    expires_at = expiry_after(datetime.now(timezone.utc), long.get("expires_in"))
    if expires_at:
        settings["TOKEN_EXPIRES_AT"] = expires_at       # postbot renews it a week before (th_refresh_token)
    who = await make_sender(candidate(channel, **settings)).check(client)
    return Connected(settings, who)
