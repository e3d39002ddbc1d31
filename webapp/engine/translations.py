"""Form texts and diagram names in the reader's language, from tables the process owner keeps.

The diagrams and forms are written in Chinese. Beside them lie translation tables that are
deployed with the diagram, so each deployed version carries the texts it was deployed with:

- `forms/X-i18n.json` for the form `X-schema.json` / `X-uischema.json`,
- `<diagram file stem>-i18n.json` for a diagram's names (process, lanes, tasks, events,
  gateways, flows) and its task instructions (`spiffworkflow:instructionsForEndUser`, keyed by
  the template as written; the translation is a template too, rendered like the original).

Both hold `{"en": {"<text as written>": "<translation>"}}`, keyed by the text like a gettext
catalog (a process owner reads the Chinese next to the English; a rename in the diagram shows
as a missing entry, not as a wrong one). A text missing from the table shows as written.
Only titles, descriptions, option titles and hints are translated, never data.
"""

from __future__ import annotations

import copy
from pathlib import PurePath
from typing import Any

# Keys of a JSON Schema / UI schema whose string values people read.
TEXT_KEYS = frozenset(
    {"title", "description", "ui:title", "ui:description", "ui:placeholder", "ui:help", "enumNames", "placeholder", "help"}
)
SOURCE_LANGUAGE = "zh"
TABLE_SUFFIX = "-i18n.json"

_cache: dict[tuple, Any] = {}


def clear_cache() -> None:
    _cache.clear()


def form_table_name(form_file: str) -> str:
    """`claim-review-schema.json` and `claim-review-uischema.json` -> `claim-review-i18n.json`."""
    stem = form_file
    for suffix in ("-uischema.json", "-schema.json", ".json"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem + TABLE_SUFFIX


def diagram_table_name(diagram_file: str) -> str:
    """`complaint_handling.bpmn` (or `.bpmn20.xml`) -> `complaint_handling-i18n.json`."""
    name = PurePath(diagram_file).name
    for suffix in (".bpmn20.xml", ".bpmn", ".dmn"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + TABLE_SUFFIX
    return name + TABLE_SUFFIX


def is_table(file_name: str) -> bool:
    return file_name.endswith(TABLE_SUFFIX)


def table_of(files: dict | None, table_name: str, language: str) -> dict[str, str]:
    """The entries for one language from a deployed table (empty when there is none)."""
    table = (files or {}).get(table_name)
    entries = table.get(language) if isinstance(table, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, str) and v}


def translate_texts(node: Any, entries: dict[str, str]) -> Any:
    """A copy of a schema or UI schema with its readable texts looked up in `entries`."""
    if not entries:
        return node
    return _walk(copy.deepcopy(node), entries)


def _walk(node: Any, entries: dict[str, str], key: str | None = None) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            node[k] = _walk(v, entries, k)
        return node
    if isinstance(node, list):
        return [_walk(v, entries, key) for v in node]
    if isinstance(node, str) and key in TEXT_KEYS:
        return entries.get(node, node)
    return node


def language_of(locale: object) -> str:
    return str(locale).replace("-", "_").split("_")[0].lower()


def localised_form(definition: Any, form_file: str | None, locale: object) -> dict | None:
    """The form file of a deployed version with its texts in the reader's language."""
    if not form_file:
        return None
    forms = definition.forms or {}
    form = forms.get(form_file)
    language = language_of(locale)
    if form is None or language == SOURCE_LANGUAGE:
        return form
    key = ("form", definition.id, definition.content_hash, form_file, language)
    if key not in _cache:
        _cache[key] = translate_texts(form, table_of(forms, form_table_name(form_file), language))
    return _cache[key]


def diagram_entries(definition: Any, locale: object) -> dict[str, str]:
    """The names table of a deployed version (every diagram file's table, the main one's first)."""
    language = language_of(locale)
    if definition is None or language == SOURCE_LANGUAGE:
        return {}
    key = ("diagram", definition.id, definition.content_hash, language)
    if key not in _cache:
        forms = definition.forms or {}
        main = (definition.meta or {}).get("main_file") or ""
        entries: dict[str, str] = {}
        for name in sorted(definition.files or {}, key=lambda n: n != main):
            for text, translation in table_of(forms, diagram_table_name(name), language).items():
                entries.setdefault(text, translation)
        _cache[key] = entries
    return _cache[key]


def element_name(definition: Any, name: str | None, locale: object) -> str:
    """A process, lane, task or flow name as the reader reads it."""
    if not name:
        return name or ""
    return diagram_entries(definition, locale).get(name, name)


def instruction_template(definition: Any, template: str | None, locale: object) -> str:
    """A task's instructions template in the reader's language (rendered afterwards with the
    same data in the same sandbox as the original)."""
    if not template:
        return template or ""
    return diagram_entries(definition, locale).get(template, template)
