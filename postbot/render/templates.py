"""The Renderer: Jinja2 environments that escape printed values the platform's way, templates
(built-in or the user's), and UTM tagging of links."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from postbot.errors import RenderError
from postbot.models import Channel, Post, Render
from postbot.platforms import make_rules
from postbot.platforms.base import Rules

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def templates_dir() -> Path:
    """The built-in templates: beside the package in a checkout, inside it when installed."""
    if PACKAGE_TEMPLATES.is_dir():
        return PACKAGE_TEMPLATES
    import importlib.util
    spec = importlib.util.find_spec("postbot.templates")
    return Path(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr]


@lru_cache(maxsize=1024)
def add_utm(url: str, platform: str, campaign: str) -> str:
    """Tag a link for analytics without touching parameters the link already has."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    wanted = [("utm_source", platform), ("utm_medium", "social"), ("utm_campaign", campaign)]
    extra = [(k, v) for k, v in wanted if k not in present]
    if not extra:
        return url
    separator = "&" if parts.query else ""
    return urlunsplit(parts._replace(query=parts.query + separator + urlencode(extra)))


def _bytecode_cache():
    """Compiled templates kept between runs: compiling ten templates costs more than the rest of
    a cold `postbot preview`. Jinja2 checks each template's source, so edits are picked up."""
    import os
    import jinja2
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "postbot" / "templates"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(base))


class Renderer:
    def __init__(self, user_templates: Path | None = None, rewriter: Any = None, sandbox: bool = False):
        """`sandbox`: templates run in Jinja2's SandboxedEnvironment (POSTBOT_TEMPLATE_SANDBOX=on),
        for set-ups where the people who write templates should not run code as postbot."""
        self.user_templates = user_templates
        self.rewriter = rewriter            # render.rewrite.Rewriter: a model's teasers, verified before use
        self.sandbox = sandbox
        self._environments: dict[str, Any] = {}

    def environment(self, rules: Rules):
        """One Jinja2 environment per platform: each escapes printed values its own way."""
        key = type(rules).__name__
        if key not in self._environments:
            import jinja2
            from markupsafe import Markup

            escape = rules.escape

            def finalize(value: Any) -> Any:
                if value is None:
                    return ""
                if isinstance(value, Markup):
                    return value
                return escape(str(value))

            search = [str(templates_dir())]
            if self.user_templates:
                search.insert(0, str(self.user_templates))
            from jinja2.sandbox import SandboxedEnvironment

            env = (SandboxedEnvironment if self.sandbox else jinja2.Environment)(
                loader=jinja2.FileSystemLoader(search), bytecode_cache=_bytecode_cache(),
                autoescape=False, trim_blocks=True, lstrip_blocks=True,
                undefined=jinja2.StrictUndefined, finalize=finalize,
                keep_trailing_newline=False)
            env.globals["link"] = lambda url, label=None: Markup(rules.link(url, label))
            self._environments[key] = env
        return self._environments[key]

    def template(self, rules: Rules, name: str):
        import jinja2
        env = self.environment(rules)
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound:
            raise RenderError(f"template {name!r} not found in {env.loader.searchpath}; "
                              f"create it or fix the channel's _TEMPLATE setting") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}") from None

    def render(self, post: Post, channel: Channel, rules: Rules | None = None) -> Render:
        rules = rules or make_rules(channel)
        from postbot.render.fitting import Fitting

        return Fitting(self, post, channel, rules).run()
