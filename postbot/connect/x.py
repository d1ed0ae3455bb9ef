"""X: the OAuth 1.0a PIN flow (request token, authorize, PIN, access token; never expires) or, with an
OAuth 2.0 Client ID, the authorization code with PKCE and offline.access (a 2-hour token that renews
itself with its rotating refresh token). Either ends verified with GET /2/users/me, as `status` does."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

import httpx

from postbot.connect import Connected, attempts, candidate
from postbot.connect.oauth import REGISTERED_REDIRECT, browser_authorization, call_json
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender
from postbot.platforms.lifetime import expiry_after
from postbot.platforms.x import OAUTH1_SETTINGS, oauth1_authorization
from postbot.redact import remember_secret

PORTAL = "https://developer.x.com/en/portal/dashboard"
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
SCOPES = ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"]


async def connect_x(term: Terminal, channel: Channel, client) -> Connected:
    term.say(f"X: postbot posts through your own app in the X developer portal ({PORTAL}).")
    term.say("  In your app: User authentication settings > Edit: App permissions 'Read and write'.")
    has_oauth2 = bool(channel.setting("CLIENT_ID")) and not channel.setting("API_KEY")
    choice = term.choose("Connect with", ["the app's API Key and Secret (OAuth 1.0a with a PIN; the tokens never "
                                          "expire)",
                                          "an OAuth 2.0 Client ID (the token lasts 2 hours and postbot renews it)"],
                         default=2 if has_oauth2 else 1)
    return await (_oauth2 if choice else _oauth1)(term, channel, client)


async def _oauth1(term: Terminal, channel: Channel, client) -> Connected:
    term.say("  Keys and tokens > Consumer Keys: the API Key and API Key Secret (Regenerate if you lost them).")
    x = make_sender(channel)                    # its addresses

    async def request_token() -> tuple[str, str, str, str]:
        key = term.secret("API Key")
        secret = term.secret("API Key Secret")
        url = x.api("/oauth/request_token")
        answer = await call_json(client, "POST", url, what="asking X for a request token",
                                 fix="copy the API Key and Secret again from Keys and tokens > Consumer Keys",
                                 public=("oauth_token",),
                                 headers={"Authorization": oauth1_authorization(
                                     "POST", url, consumer_key=key, consumer_secret=secret, token=None,
                                     token_secret=None, callback="oob")})
        if not answer.get("oauth_token") or not answer.get("oauth_token_secret"):
            raise ConfigError("X answered without a request token; run postbot connect x again")
        return key, secret, answer["oauth_token"], answer["oauth_token_secret"]

    key, secret, token, token_secret = await attempts(term, request_token)
    term.say("Open this address in your browser, log in as the account postbot should post as, click")
    term.say("'Authorize app', and type the PIN X then shows:")
    term.say(f"  {x.api('/oauth/authorize')}?{urlencode({'oauth_token': token})}")
    pin = term.ask("PIN").strip()
    remember_secret(pin)
    url = x.api("/oauth/access_token")
    answer = await call_json(client, "POST", url, what="exchanging the PIN for an access token",
                             fix="a PIN works once and for a few minutes: run postbot connect x again",
                             headers={"Authorization": oauth1_authorization(
                                 "POST", url, consumer_key=key, consumer_secret=secret, token=token,
                                 token_secret=token_secret, verifier=pin)})
    if not answer.get("oauth_token") or not answer.get("oauth_token_secret"):
        raise ConfigError("X answered without an access token; run postbot connect x again")
    settings = {"API_KEY": key, "API_SECRET": secret, "ACCESS_TOKEN": answer["oauth_token"],
                "ACCESS_TOKEN_SECRET": answer["oauth_token_secret"]}
    if answer.get("screen_name"):
        settings["USERNAME"] = answer["screen_name"]
    who = await make_sender(candidate(channel, **settings)).check(client)     # GET /2/users/me
    return Connected(settings, who)


async def _oauth2(term: Terminal, channel: Channel, client) -> Connected:
    term.say("  User authentication settings: Type of App 'Web App' (it gets a Client Secret) or 'Native App'")
    term.say(f"  (none); Callback URI / Redirect URL: {REGISTERED_REDIRECT} (or the one you give below). Save,")
    term.say("  then Keys and tokens > OAuth 2.0 Client ID and Client Secret.")
    client_id = term.ask("OAuth 2.0 Client ID", channel.setting("CLIENT_ID"))
    client_secret = term.secret("Client Secret (none for a Native App)", optional=True)
    code, redirect_uri, auth = browser_authorization(term, channel, channel.setting("AUTHORIZE_URL") or AUTHORIZE_URL,
                                                     SCOPES, client_id=client_id, click="'Authorize app'")
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "redirect_uri": redirect_uri, "code_verifier": auth.verifier or ""}
    answer = await call_json(client, "POST", make_sender(channel).api("/2/oauth2/token"),
                             what="getting the OAuth 2.0 token",
                             fix="check the Client ID and Secret (Keys and tokens) and that the redirect URL is "
                                 "the app's Callback URI, then run postbot connect x again (a code works once, "
                                 "within 30 seconds)",
                             data=form, auth=httpx.BasicAuth(client_id, client_secret) if client_secret else None)
    if not answer.get("access_token") or not answer.get("refresh_token"):
        raise ConfigError("X gave no refresh token (the offline.access scope was not granted); run postbot connect "
                          "x again and allow every permission asked")
    settings = {"OAUTH2_ACCESS_TOKEN": answer["access_token"], "OAUTH2_REFRESH_TOKEN": answer["refresh_token"],
                "OAUTH2_EXPIRES_AT": expiry_after(datetime.now(timezone.utc), answer.get("expires_in") or 7200),
                "CLIENT_ID": client_id}
    if client_secret:
        settings["CLIENT_SECRET"] = client_secret
    notes = []
    stale = [key for key in OAUTH1_SETTINGS if channel.setting(key)]
    if stale:       # the sender prefers OAuth 1.0a keys when all four are set: empty them so this token is used
        settings.update({key: "" for key in stale})
        notes.append(f"emptied {', '.join(channel.var(key) for key in stale)} so the OAuth 2.0 token is used")
    sender = make_sender(candidate(channel, **settings))
    who = await sender.check(client)                                       # GET /2/users/me
    settings["USERNAME"] = who.split(" ", 1)[0].lstrip("@")
    return Connected(settings, who, notes)
