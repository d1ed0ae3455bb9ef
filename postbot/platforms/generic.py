"""Rules for channels that render for no particular network (a webhook by default)."""
from __future__ import annotations

from postbot.platforms.base import Rules


class GenericRules(Rules):
    platform = "generic"
    label = "Webhook"
    limit = 10000
    all_ctas = True
    teaser_max = 1000


RULES = GenericRules
