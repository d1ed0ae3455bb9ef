"""Rules for channels that render for no particular network (a webhook by default)."""
from __future__ import annotations

from postbot.platforms.base import Publisher


class GenericRules(Publisher):
    platform = "generic"
    limit = 10000
    all_ctas = True
    teaser_max = 1000


PUBLISHER = GenericRules
