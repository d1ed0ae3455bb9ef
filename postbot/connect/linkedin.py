"""LinkedIn: the OAuth authorization code on the redirect registered in your app (the standard 3-legged
flow with the client secret: LinkedIn takes PKCE only from native apps it enabled for it), the token
verified with /v2/userinfo, and the author picked from what the API returns: you, or a Page you
administer (organizationAcls). A refresh token, when LinkedIn grants one, is stored for renewal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from postbot.connect import Connected, candidate
from postbot.connect.oauth import Authorization, REGISTERED_REDIRECT, ask_redirect, browser_code, call_json
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender
from postbot.platforms.linkedin import DEFAULT_API_URL, DEFAULT_OAUTH_URL, version

APPS = "https://www.linkedin.com/developers/apps"
MEMBER_SCOPES = ["openid", "profile", "w_member_social"]
PAGE_SCOPES = ["r_organization_admin", "w_organization_social"]     # the Community Management API product


async def connect_linkedin(term: Terminal, channel: Channel, client) -> Connected:
    term.say(f"LinkedIn: postbot posts through your own app ({APPS}).")
    term.say("  1. Create app (it belongs to a LinkedIn Page), then Products: request 'Share on LinkedIn' and")
    term.say("     'Sign In with LinkedIn using OpenID Connect' (and 'Community Management API' to post as a Page).")
    term.say(f"  2. Auth tab: under 'Authorized redirect URLs for your app' add {REGISTERED_REDIRECT}; copy the")
    term.say("     Client ID and the Primary Client Secret.")
    client_id = term.ask("Client ID", channel.setting("CLIENT_ID"))
    client_secret = term.secret("Client Secret", channel.var("CLIENT_SECRET"))
    pages = term.ask("Also post as a Page you administer (needs the Community Management API)? y/n", "n")
    scopes = MEMBER_SCOPES + (PAGE_SCOPES if pages.lower().startswith("y") else [])
    oauth = (channel.setting("OAUTH_URL") or DEFAULT_OAUTH_URL).rstrip("/")
    with ask_redirect(term, channel) as redirect:
        auth = Authorization.new(client_id, pkce=False)
        link = auth.authorize_url(oauth + "/authorization", redirect.redirect_uri, scopes)
        code = browser_code(term, auth, redirect, link, click="Allow")
    answer = await call_json(client, "POST", oauth + "/accessToken", what="getting the LinkedIn token",
                                 fix="check the Client ID and Secret (Auth tab) and that the redirect URL is listed "
                                     "there exactly, then run postbot connect linkedin again",
                                 data={"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                       "client_secret": client_secret, "redirect_uri": redirect.redirect_uri})
    token = str(answer.get("access_token") or "")
    if not token:
        raise ConfigError("LinkedIn answered without an access_token; run postbot connect linkedin again")
    now = datetime.now(timezone.utc)
    settings = {"ACCESS_TOKEN": token}
    if answer.get("expires_in"):
        settings["TOKEN_EXPIRES_AT"] = (now + timedelta(seconds=int(answer["expires_in"]))).isoformat(timespec="seconds")
    api = (channel.setting("API_URL") or DEFAULT_API_URL).rstrip("/")
    authors = await _authors(client, api, token, version(channel), with_pages=scopes != MEMBER_SCOPES)
    labels = [label for _, label in authors]
    settings["AUTHOR"] = authors[term.choose("Post as", labels) if len(authors) > 1 else 0][0]
    notes = []
    if answer.get("refresh_token"):
        settings.update(REFRESH_TOKEN=answer["refresh_token"], CLIENT_ID=client_id, CLIENT_SECRET=client_secret)
    else:
        notes.append(f"LinkedIn gave this app no refresh token: the token lasts 60 days; `postbot status` warns a "
                     f"week ahead, then run `postbot connect linkedin --name {channel.name}` again")
    who = await make_sender(candidate(channel, **settings)).check(client)       # /v2/userinfo, as status does
    return Connected(settings, who, notes)


async def _authors(client, api: str, token: str, api_version: str, *, with_pages: bool) -> list[tuple[str, str]]:
    """(URN, label) for each author the token may post as: the member first, then administered Pages."""
    headers = {"Authorization": f"Bearer {token}"}
    me = await call_json(client, "GET", api + "/v2/userinfo", what="reading who you are (userinfo)",
                             fix="the app needs the 'Sign In with LinkedIn using OpenID Connect' product",
                             headers=headers)
    if not me.get("sub"):
        raise ConfigError("LinkedIn's userinfo gave no member id (sub); run postbot connect linkedin again")
    authors = [(f"urn:li:person:{me['sub']}", f"you, {me.get('name') or me['sub']}")]
    if not with_pages:
        return authors
    rest = {**headers, "LinkedIn-Version": api_version, "X-Restli-Protocol-Version": "2.0.0"}
    acls = await call_json(client, "GET", api + "/rest/organizationAcls", what="listing the Pages you administer",
                               fix="the app needs the 'Community Management API' product", headers=rest,
                               params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"})
    for acl in acls.get("elements") or []:
        urn = str(acl.get("organization") or "")
        if not urn.startswith("urn:li:organization:"):
            continue
        page = await call_json(client, "GET", f"{api}/rest/organizations/{urn.rsplit(':', 1)[1]}",
                                   what="reading the Page's name", fix="run postbot connect linkedin again",
                                   headers=rest)
        authors.append((urn, f"the Page {page.get('localizedName') or urn}"))
    return authors
