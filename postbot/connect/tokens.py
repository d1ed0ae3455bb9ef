"""Connect flows where the credential is one secret the user copies: Bluesky (handle + app password),
Telegram (bot token + chat), Discord and Slack (a webhook URL, which is its own credential)."""
from __future__ import annotations

import base64
import json

from postbot.connect import Connected, attempts, candidate
from postbot.connect.terminal import Terminal
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.platforms import make_sender

BLUESKY_APP_PASSWORDS = "https://bsky.app/settings/app-passwords"
# The scope of a session made with the account's own password; app-password sessions carry
# com.atproto.appPass (or appPassPrivileged).
FULL_ACCESS_SCOPE = "com.atproto.access"


def jwt_claims(token: str) -> dict:
    """The claims of a JWT, unverified (only to read the scope the server granted); {} if unreadable."""
    try:
        body = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError):
        return {}


async def connect_bluesky(term: Terminal, channel: Channel, client) -> Connected:
    from postbot.platforms.bluesky import DEFAULT_SERVICE, SESSION_KEY
    term.say("Bluesky: postbot signs in with an APP PASSWORD, never your account password.")
    term.say(f"  1. Open {BLUESKY_APP_PASSWORDS} (Settings > Privacy and security > App passwords).")
    term.say("  2. Click 'Add App Password', name it 'postbot', leave 'Allow access to your direct messages' off,")
    term.say("     click 'Create App Password' and copy it (it looks like abcd-efgh-ijkl-mnop).")
    service = term.ask("Server (your PDS; Enter for Bluesky's own)",
                       channel.setting("SERVICE") or DEFAULT_SERVICE).rstrip("/")
    if not service.startswith(("https://", "http://")):
        raise ConfigError(f"server {service!r} is not an http(s) URL; e.g. {DEFAULT_SERVICE}")
    handle = term.ask("Handle (e.g. alice.bsky.social)", channel.setting("HANDLE")).lstrip("@")

    async def verify() -> Connected:
        password = term.secret("App password")
        settings = {"HANDLE": handle, "APP_PASSWORD": password}
        if service != DEFAULT_SERVICE or channel.setting("SERVICE"):
            settings["SERVICE"] = service
        sender = make_sender(candidate(channel, **settings))
        who = await sender.check(client)        # createSession
        session = sender.state.get(SESSION_KEY) or {}
        if jwt_claims(session.get("accessJwt", "")).get("scope") == FULL_ACCESS_SCOPE:
            raise sender.check_failed("that is your account password (it grants full access to the account)",
                                      f"create an app password at {BLUESKY_APP_PASSWORDS} and use that instead")
        return Connected(settings, who)

    return await attempts(term, verify)


async def connect_telegram(term: Terminal, channel: Channel, client) -> Connected:
    term.say("Telegram: postbot posts as a bot you create.")
    term.say("  1. In Telegram open https://t.me/BotFather, send /newbot, pick a name and a username ending in 'bot'.")
    term.say("     BotFather answers with a token like 123456789:AAH...; copy it.")
    term.say("  2. Add the bot to your channel (Channel info > Administrators > Add admin, allow 'Post messages')")
    term.say("     or to your group.")

    async def verify() -> Connected:
        token = term.secret("Bot token")
        chat = term.ask("Chat: @channelname for a public channel, or the numeric id (-100...) of a private one",
                        channel.setting("CHAT_ID"))
        settings = {"BOT_TOKEN": token, "CHAT_ID": chat}
        sender = make_sender(candidate(channel, **settings))
        who = await sender.check(client)        # getMe
        title = await sender.chat_title(client)  # getChat: the bot can see the chat
        return Connected(settings, f"{who} ({title})")

    return await attempts(term, verify)


async def _webhook(term: Terminal, channel: Channel, client, steps: list[str], verify_with: str) -> Connected:
    """A webhook URL is its own credential: ask for it (hidden) and verify it with the sender's `verify_with`."""
    for line in steps:
        term.say(line)

    async def verify() -> Connected:
        settings = {"WEBHOOK_URL": term.secret("Webhook URL")}
        who = await getattr(make_sender(candidate(channel, **settings)), verify_with)(client)
        return Connected(settings, who)

    return await attempts(term, verify)


async def connect_discord(term: Terminal, channel: Channel, client) -> Connected:
    return await _webhook(term, channel, client, [
        "Discord: postbot posts through a channel webhook (the URL is the credential: keep it secret).",
        "  In Discord: Server Settings > Integrations > Webhooks > New Webhook, choose the channel,",
        "  then 'Copy Webhook URL' (https://discord.com/api/webhooks/<id>/<token>)."],
        "check")                    # GET the webhook


async def connect_slack(term: Terminal, channel: Channel, client) -> Connected:
    return await _webhook(term, channel, client, [
        "Slack: postbot posts through an incoming webhook (the URL is the credential: keep it secret).",
        "  1. Open https://api.slack.com/apps > Create New App > From scratch, pick your workspace.",
        "  2. Incoming Webhooks > switch 'Activate Incoming Webhooks' on > Add New Webhook to Workspace,",
        "     choose the channel > Allow, then Copy (https://hooks.slack.com/services/T.../B.../...)."],
        "probe")                    # answers, posts nothing
