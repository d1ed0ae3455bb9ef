import re

import pytest

from postbot.config import load_settings
from postbot.errors import ConfigError
from postbot.platforms import PLATFORMS


def test_default_is_one_outbox_per_platform():
    settings = load_settings({"POSTBOT_TIMEZONE": "UTC"})
    assert [(c.name, c.kind, c.platform) for c in settings.channels] == [(p, "outbox", p) for p in PLATFORMS]
    assert settings.database_url == "sqlite:///postbot.db"


def test_channels_names_platforms_and_settings():
    settings = load_settings({"POSTBOT_TIMEZONE": "Europe/London", "POSTBOT_CHANNELS": "x, bluesky,work=mastodon",
                              "WORK_URL": "https://social.example", "WORK_ACCESS_TOKEN": "tok",
                              "X_SLOTS": "mon-fri 09:00", "X_UTM": "off", "BLUESKY_TEMPLATE": "short.j2"})
    x, bluesky, work = settings.channels
    assert (work.name, work.kind, work.platform) == ("work", "mastodon", "mastodon")
    assert work.setting("URL") == "https://social.example" and work.var("ACCESS_TOKEN") == "WORK_ACCESS_TOKEN"
    assert x.slots == "mon-fri 09:00" and x.utm is False and bluesky.template == "short.j2"


def test_outbox_render_as():
    settings = load_settings({"POSTBOT_TIMEZONE": "UTC", "POSTBOT_CHANNELS": "drafts=outbox",
                              "DRAFTS_RENDER_AS": "linkedin"})
    assert settings.channels[0].platform == "linkedin"


def test_secrets_stay_out_of_repr():
    settings = load_settings({"POSTBOT_TIMEZONE": "UTC", "POSTBOT_CHANNELS": "x", "X_API_SECRET": "very-secret-1"})
    assert "very-secret-1" not in repr(settings)


@pytest.mark.parametrize("env,needle", [
    ({"POSTBOT_CHANNELS": "x=myspace"}, "unknown platform 'myspace'"),
    ({"POSTBOT_CHANNELS": "x,x"}, "lists 'x' twice"),
    ({"POSTBOT_CHANNELS": "Bad Name"}, "not a valid channel name"),
    ({"POSTBOT_CHANNELS": "drafts=outbox"}, "DRAFTS_RENDER_AS"),
    ({"POSTBOT_TIMEZONE": "Mars/Olympus"}, "POSTBOT_TIMEZONE"),
    ({"POSTBOT_MAX_ATTEMPTS": "many"}, "POSTBOT_MAX_ATTEMPTS"),
    ({"POSTBOT_CHANNELS": "x", "X_UTM": "maybe"}, "X_UTM"),
    ({"POSTBOT_CHANNELS": "mail=email", "POSTBOT_ALERTS": "pager"},
     "POSTBOT_ALERTS names 'pager', which is not a channel in POSTBOT_CHANNELS"),
    ({"POSTBOT_CHANNELS": "mail=email", "POSTBOT_ALERTS_DIGEST_MINUTES": "soon"},
     "POSTBOT_ALERTS_DIGEST_MINUTES='soon' is not a whole number"),
    ({"POSTBOT_CHANNELS": "mail=email", "POSTBOT_ALERTS_CHECK_HOURS": "0"}, "POSTBOT_ALERTS_CHECK_HOURS=0 must be at least 1"),
])
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings({"POSTBOT_TIMEZONE": "UTC", **env})
