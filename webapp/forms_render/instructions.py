"""A task's instructions: Jinja over the case data (sandboxed), then Markdown, then only safe HTML.

The template comes from a deployed diagram and the data from customers, so neither is
trusted: the sandbox keeps the template away from Python internals, and nh3 (ammonia's allow-list
sanitiser) removes whatever HTML either of them smuggles in after Markdown has run.
"""

from __future__ import annotations

import markdown
import nh3
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "code", "pre", "blockquote", "hr",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_PROTOCOLS = {"http", "https", "mailto", "tel"}
MAX_OUTPUT = 20_000

# Other tags are dropped and their text kept; these are dropped with their content, which is
# never meant for people.
HIDDEN_BLOCKS = {"script", "style", "template"}

_env = ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def render_instructions(template: str | None, data: dict) -> Markup:
    """Safe HTML for the task page; an empty Markup when there is nothing to show."""
    if not template or not template.strip():
        return Markup("")
    try:
        text = _env.from_string(template).render(**_context(data))
    except TemplateError:
        # A broken template must not hide the task: show what the modeller wrote, as text.
        text = template
    html = markdown.markdown(text[:MAX_OUTPUT], extensions=["sane_lists", "nl2br", "tables"])
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, clean_content_tags=HIDDEN_BLOCKS, attributes=ALLOWED_ATTRIBUTES,
                        url_schemes=ALLOWED_PROTOCOLS)
    return Markup(cleaned)


def _context(data: dict) -> dict:
    # Only names that are valid identifiers can be used as Jinja variables anyway.
    return {k: v for k, v in (data or {}).items() if isinstance(k, str) and k.isidentifier()}
