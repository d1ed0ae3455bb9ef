"""Fill a channel's template and fit the teaser to what the platform allows: `Renderer().render(post, channel)`.

The teaser is the only elastic part of a render: everything else (CTAs, hashtags,
the post's link) is fixed by the template. Fitting tries teaser prefixes cut at
sentence ends (longest first), else at word or phrase boundaries with an ellipsis,
and measures every candidate with the platform's own counting rule, so what is
measured is exactly what is sent.

* templates.py  the Renderer: Jinja2 environments escaping the platform's way, templates, UTM tags
* fitting.py    the template context and the search for the longest teaser that fits
* pieces.py     a candidate counted without rendering and measuring the whole post again
* hooks.py      the hook strategy: hook, thesis and reader question picked from the article, SHAPES per platform
* ctas.py       which CTAs a channel shows (<NAME>_CTAS, show_ctas:)
* rewrite.py    optional teasers from the user's language model, checked before use
* threads.py    a body split into numbered parts at sentence ends
"""
from postbot.render.templates import Renderer, add_utm, templates_dir

__all__ = ["Renderer", "add_utm", "templates_dir"]
