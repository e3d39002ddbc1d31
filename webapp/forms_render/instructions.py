"""A task's instructions: Jinja over the case data (sandboxed), then Markdown, then only safe HTML.

The template comes from a deployed diagram and the data from customers, so neither is
trusted: Jinja's sandbox keeps the template away from Python internals and runs in a
sandbox process (engine/sandbox_pool.py) with a time, memory, loop and size budget, so
nested range() loops cannot hold a web process; nh3 (ammonia's allow-list sanitiser)
removes whatever HTML either of them smuggles in after Markdown has run.
"""

from __future__ import annotations

import json
import logging

import markdown
import nh3
from markupsafe import Markup

from ..engine import sandbox_pool

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "code", "pre", "blockquote", "hr",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_TAGS.add("span")
# span translate="no" marks the case data an instruction quotes (engine/sandbox_child.py)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "span": {"translate"}}
ALLOWED_PROTOCOLS = {"http", "https", "mailto", "tel"}
MAX_OUTPUT = 20_000

# Other tags are dropped and their text kept; these are dropped with their content, which is
# never meant for people.
HIDDEN_BLOCKS = {"script", "style", "template"}

log = logging.getLogger("aftersales.instructions")


def _rendered(template: str, data: dict) -> str:
    """The template rendered in a sandbox process, or, when it fails or breaks its budget,
    the template as written: broken instructions must not hide the task."""
    try:
        answer = sandbox_pool.pool().call("render", template, data, seconds=sandbox_pool.limits().render_seconds)
    except sandbox_pool.SandboxError as err:
        log.warning("instructions stopped", extra={"error": str(err)})
        return template
    if not answer["ok"]:
        return template
    return answer["value"]


def render_instructions(template: str | None, data: dict) -> Markup:
    """Safe HTML for the task page; an empty Markup when there is nothing to show."""
    if not template or not template.strip():
        return Markup("")
    text = _rendered(template, _context(data))
    html = markdown.markdown(text[:MAX_OUTPUT], extensions=["sane_lists", "nl2br", "tables"])
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, clean_content_tags=HIDDEN_BLOCKS, attributes=ALLOWED_ATTRIBUTES,
                        url_schemes=ALLOWED_PROTOCOLS)
    return Markup(cleaned)


def _context(data: dict) -> dict:
    # Only names that are valid identifiers can be used as Jinja variables anyway; the
    # sandbox process gets JSON (a value that is not JSON data reaches it as its text).
    context = {k: v for k, v in (data or {}).items() if isinstance(k, str) and k.isidentifier()}
    return json.loads(json.dumps(context, default=str))
