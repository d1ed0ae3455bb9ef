"""Mastodon: register postbot as an app on the instance, get a token with the OAuth authorization code
and PKCE, verify it with verify_credentials and show the instance's character limit."""
from __future__ import annotations

from urllib.parse import urlsplit

from postbot.connect import Connected, candidate
from postbot.connect.oauth import Authorization, LoopbackRedirect, browser_code, call_json
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender
from postbot.remote_fetch import is_loopback

SCOPES = ["read:accounts", "write:statuses", "write:media"]     # the least postbot needs
APP_NAME = "postbot"


def instance_url(raw: str) -> str:
    """https://host from what was typed; plain http only for an instance on this machine."""
    raw = raw.strip().rstrip("/")
    if "://" not in raw:
        raw = "https://" + raw.lstrip("@").split("@")[-1]
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{raw!r} is not an instance address; e.g. mastodon.social or https://mastodon.social")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{raw!r}: an instance is reached over https (plain http only on this machine)")
    return f"{parts.scheme}://{parts.netloc}"


async def _form(client, url: str, what: str, data: dict[str, str]) -> dict:
    return await call_json(client, "POST", url, what=what, data=data,
                           fix="check the instance address, then run postbot connect again")


async def connect_mastodon(term: Terminal, channel: Channel, client) -> Connected:
    term.say("Mastodon: postbot registers itself as an app on your instance and you approve it in the browser.")
    base = instance_url(term.ask("Your instance (e.g. mastodon.social)", channel.setting("URL")))
    with LoopbackRedirect() as redirect:
        app = await _form(client, base + "/api/v1/apps", "registering postbot on the instance",
                          {"client_name": APP_NAME, "redirect_uris": redirect.redirect_uri,
                           "scopes": " ".join(SCOPES)})
        client_id, client_secret = str(app.get("client_id") or ""), str(app.get("client_secret") or "")
        if not client_id or not client_secret:
            raise ConfigError("the instance registered postbot without a client_id and client_secret")
        pkce = Authorization.new(client_id)
        code = browser_code(term, pkce, redirect, pkce.authorize_url(base + "/oauth/authorize", redirect.redirect_uri,
                                                                     SCOPES), click="Authorize")
        tokens = await _form(client, base + "/oauth/token", "getting the access token",
                             {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                              "client_secret": client_secret, "redirect_uri": redirect.redirect_uri,
                              "code_verifier": pkce.verifier, "scope": " ".join(SCOPES)})
    token = str(tokens.get("access_token") or "")
    if not token:
        raise ConfigError("the instance answered without an access_token; run postbot connect again")
    settings = {"URL": base, "ACCESS_TOKEN": token}
    sender = make_sender(candidate(channel, **settings))
    who = await sender.check(client)                      # verify_credentials
    notes = await sender.load_limits(client)
    limit = sender.state.get("max_characters")
    if limit is not None:
        term.say(f"This instance allows {limit} characters per post; postbot counts every post against that.")
    return Connected(settings, who, notes)
