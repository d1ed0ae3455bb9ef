"""LinkedIn: the OAuth authorization code on the redirect registered in your app (the standard 3-legged
flow with the client secret: LinkedIn takes PKCE only from native apps it enabled for it), the token
verified with /v2/userinfo, and the author picked from what the API returns: you, or a Page you
administer (organizationAcls). A refresh token, when LinkedIn grants one, is stored for renewal."""
from __future__ import annotations

from datetime import datetime, timezone

from postbot.connect import Connected, candidate
from postbot.connect.oauth import REGISTERED_REDIRECT, browser_authorization, call_json
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender
from postbot.platforms.lifetime import expiry_after

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
    client_secret = term.secret("Client Secret")
    pages = term.ask("Also post as a Page you administer (needs the Community Management API)? y/n", "n")
    scopes = MEMBER_SCOPES + (PAGE_SCOPES if pages.lower().startswith("y") else [])
    linkedin = make_sender(channel)             # its addresses and API version
    code, redirect_uri, _ = browser_authorization(term, channel, linkedin.oauth_url() + "/authorization", scopes,
                                                  client_id=client_id, click="Allow", pkce=False)
    answer = await call_json(client, "POST", linkedin.oauth_url() + "/accessToken", what="getting the LinkedIn token",
                             fix="check the Client ID and Secret (Auth tab) and that the redirect URL is listed "
                                 "there exactly, then run postbot connect linkedin again",
                             data={"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                   "client_secret": client_secret, "redirect_uri": redirect_uri})
    token = str(answer.get("access_token") or "")
    if not token:
        raise ConfigError("LinkedIn answered without an access_token; run postbot connect linkedin again")
    settings = {"ACCESS_TOKEN": token}
    expires_at = expiry_after(datetime.now(timezone.utc), answer.get("expires_in"))
    if expires_at:
        settings["TOKEN_EXPIRES_AT"] = expires_at
    authors = await _authors(client, linkedin, token, with_pages=scopes != MEMBER_SCOPES)
    settings["AUTHOR"] = authors[term.choose("Post as", [label for _, label in authors])][0]
    notes = []
    if answer.get("refresh_token"):
        settings.update(REFRESH_TOKEN=answer["refresh_token"], CLIENT_ID=client_id, CLIENT_SECRET=client_secret)
    else:
        notes.append(f"LinkedIn gave this app no refresh token: the token lasts 60 days; `postbot status` warns a "
                     f"week ahead, then run `postbot connect linkedin --name {channel.name}` again")
    who = await make_sender(candidate(channel, **settings)).check(client)       # /v2/userinfo, as status does
    return Connected(settings, who, notes)


async def _authors(client, linkedin, token: str, *, with_pages: bool) -> list[tuple[str, str]]:
    """(URN, label) for each author the token may post as: the member first, then administered Pages."""
    api = linkedin.api_url()
    headers = {"Authorization": f"Bearer {token}"}
    me = await call_json(client, "GET", api + "/v2/userinfo", what="reading who you are (userinfo)",
                         fix="the app needs the 'Sign In with LinkedIn using OpenID Connect' product",
                         headers=headers)
    if not me.get("sub"):
        raise ConfigError("LinkedIn's userinfo gave no member id (sub); run postbot connect linkedin again")
    authors = [(f"urn:li:person:{me['sub']}", f"you, {me.get('name') or me['sub']}")]
    if not with_pages:
        return authors
    rest = {**headers, "LinkedIn-Version": linkedin.version(), "X-Restli-Protocol-Version": "2.0.0"}
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
