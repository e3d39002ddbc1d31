"""Server-side forms from a JSON Schema and a UI schema (react-jsonschema-form conventions).

`build_fields` turns schema + values + errors into a tree of `Field`s that the
`forms/fields.html` macros render; `parse_submission` turns the posted form back into typed
JSON. Parsing never throws away what was typed: a value that cannot be converted is kept as
the raw text (so the form shows it again) and reported as an error for its field.

Field names are dotted paths ("parts.0.qty"), the same keys the engine uses for errors.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from ..engine import clock
from ..engine.attachments import is_reference
from ..engine.form_rules import (
    RULES,
    TIME_KEYWORD,
    active_fields,
    conditional_fields,
    conditions,
    dependency_field,
    validator_for,
)
from .messages import message_for, parse_message, time_message

# A property that holds attached files: {"type": "array", "x-attachment": {"accept": ..., "capture": true}}
ATTACHMENT_KEYWORD = "x-attachment"
DEFAULT_ACCEPT = "image/*,application/pdf"

# How many empty lines an array of rows offers when it has none yet.
BLANK_ROWS = 1


@dataclass
class Choice:
    value: str  # as posted
    label: str
    selected: bool = False


@dataclass
class Field:
    name: str
    kind: str
    label: str
    required: bool = False
    help: str = ""
    placeholder: str = ""
    value: str = ""
    display: str = ""  # read-only fields: the value as people read it
    error: str = ""
    choices: list[Choice] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)  # group: its fields
    rows: list[list[Field]] = field(default_factory=list)  # rows: one list of fields per line
    template: list[Field] = field(default_factory=list)  # rows: an empty line for "add row"
    columns: list[str] = field(default_factory=list)
    rows_count: int = 3  # textarea
    inline: bool = False
    autofocus: bool = False
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None
    # Conditional fields: the schemas (any of which) that make the field shown and required.
    when: list[dict] = field(default_factory=list)
    shown: bool = True
    # Time rules for the page's own check: {"rules": [[rule, target, message]], "now", "offset"}.
    time: dict | None = None
    # Attachments: the files already attached (references), what the file input accepts.
    files: list[dict] = field(default_factory=list)
    accept: str = ""
    capture: bool = False
    multiple: bool = True

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def checked(self) -> bool:
        return self.value == "true"


@dataclass
class Parsed:
    data: dict
    errors: dict[str, str]


# ---------------------------------------------------------------- schema reading


def _ordered(schema: dict, ui: dict) -> list[str]:
    props = list((schema.get("properties") or {}).keys())
    order = ui.get("ui:order") or []
    if not order:
        return props
    rest = [p for p in props if p not in order]
    result: list[str] = []
    for name in order:
        if name == "*":
            result.extend(rest)
        elif name in props:
            result.append(name)
    if "*" not in order:
        result.extend(rest)
    return result


def _choices_of(prop: dict) -> list[tuple[Any, str]] | None:
    """(const, title) for oneOf/anyOf of consts, or enum values; None when the field is free."""
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(o["const"], str(o.get("title", o["const"]))) for o in options]
    if isinstance(prop.get("enum"), list):
        names = prop.get("enumNames") or []
        return [(v, str(names[i]) if i < len(names) else _encode(v)) for i, v in enumerate(prop["enum"])]
    return None


def _type_of(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else None
    if kind is None and (choices := _choices_of(prop)):
        sample = choices[0][0]
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(sample))
    return kind


def _ui_options(ui: dict) -> dict:
    return ui.get("ui:options") or {}


def _widget(prop: dict, ui: dict) -> str:
    return ui.get("ui:widget") or _ui_options(ui).get("widget") or ""


def _is_readonly(prop: dict, ui: dict) -> bool:
    return bool(prop.get("readOnly") or ui.get("ui:readonly") or _ui_options(ui).get("readonly"))


def kind_of(prop: dict, ui: dict | None = None) -> str:
    """Which widget renders the property."""
    ui = ui or {}
    widget = _widget(prop, ui)
    if widget == "hidden":
        return "hidden"
    if ATTACHMENT_KEYWORD in prop or widget in ("file", "files"):
        return "files"
    if _is_readonly(prop, ui):
        return "readonly"
    kind = _type_of(prop)
    choices = _choices_of(prop)
    if kind == "array":
        items = prop.get("items") or {}
        if _type_of(items) == "object":
            return "rows"
        return "checkboxes"
    if kind == "object":
        return "group"
    if kind == "boolean":
        if widget == "checkbox" or (choices is None and widget != "radio" and widget != "select"):
            return "checkbox"
        return "select" if widget == "select" else "radio"
    if choices is not None:
        return "radio" if widget == "radio" else "select"
    if kind == "integer":
        return "integer"
    if kind == "number":
        is_money = widget == "money" or prop.get("format") == "money" or _ui_options(ui).get("money")
        return "money" if is_money else "number"
    fmt = prop.get("format")
    if fmt == "date" or widget == "date":
        return "date"
    if fmt == "date-time" or widget in ("datetime", "date-time"):
        return "datetime"
    if widget == "textarea":
        return "textarea"
    if fmt == "email" or _ui_options(ui).get("inputType") == "email" or widget == "email":
        return "email"
    return "text"


# ---------------------------------------------------------------- values <-> text


def _encode(value: Any) -> str:
    """A JSON value as an HTML form value."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _money_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _local_datetime_text(value: Any, tz: ZoneInfo) -> str:
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value  # typed text that did not parse: show it again as it was
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M")
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def value_text(kind: str, value: Any, tz: ZoneInfo) -> str:
    """The text an input shows for a stored value."""
    if value is None:
        return ""
    if kind == "money":
        return _money_text(value)
    if kind in ("number", "integer"):
        return _number_text(value)
    if kind == "datetime":
        return _local_datetime_text(value, tz)
    if kind in ("checkbox", "radio", "select") and isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return _encode(value)


def display_value(prop: dict, value: Any, tz: ZoneInfo, yes: str, no: str) -> str:
    """A stored value as people read it: choice titles, 是/否, local times, money with decimals."""
    if value is None or value == "":
        return ""
    choices = _choices_of(prop) or []
    for const, title in choices:
        if const == value and type(const) is type(value):
            return title
    if isinstance(value, bool):
        return yes if value else no
    if is_reference(value):
        return str(value.get("name") or value["attachment"])
    if isinstance(value, list):
        items = prop.get("items") or {}
        return "、".join(display_value(items, v, tz, yes, no) for v in value)
    kind = kind_of(prop)
    if kind == "money":
        return "¥" + _money_text(value)
    if kind == "datetime" and isinstance(value, str):
        return _local_datetime_text(value, tz).replace("T", " ")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return _number_text(value) if isinstance(value, float) else str(value)


@dataclass
class Table:
    """Lines of objects (parts, findings...) as people read them: titled columns, no JSON."""

    columns: list[str]
    rows: list[list[str]]


def table_value(prop: dict, value: Any, tz: ZoneInfo, yes: str, no: str) -> Table | None:
    """A list of objects (or one object) as a table; None for anything else."""
    if isinstance(value, dict) and not is_reference(value):
        props = prop.get("properties") or {}
        return Table(["", ""], [[str((props.get(k) or {}).get("title") or k), _cell(props.get(k) or {}, v, tz, yes, no)]
                                for k, v in value.items()])
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) and not is_reference(v) for v in value):
        return None
    items = prop.get("items") or {}
    props = items.get("properties") or {}
    keys = [k for k in props if any(k in v for v in value)] + sorted({k for v in value for k in v} - set(props))
    columns = [str((props.get(k) or {}).get("title") or k) for k in keys]
    return Table(columns, [[_cell(props.get(k) or {}, line.get(k), tz, yes, no) for k in keys] for line in value])


def _cell(prop: dict, value: Any, tz: ZoneInfo, yes: str, no: str) -> str:
    if isinstance(value, dict | list) and not is_reference(value):
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            return "、".join(str(v) for v in value)
        return json.dumps(value, ensure_ascii=False)
    return display_value(prop, value, tz, yes, no)


# ---------------------------------------------------------------- building fields


@dataclass
class _Context:
    errors: dict[str, str]
    case_data: dict
    tz: ZoneInfo
    yes: str
    no: str
    first_autofocus_done: bool = False


def build_fields(
    schema: dict | None,
    ui_schema: dict | None,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    *,
    case_data: dict | None = None,
    tz: ZoneInfo | None = None,
    yes: str = "是",
    no: str = "否",
) -> list[Field]:
    """The fields of a form, filled with values (a draft, a failed submission or defaults)."""
    ctx = _Context(errors or {}, case_data or {}, tz or ZoneInfo("UTC"), yes, no)
    return _fields_of(schema or {}, ui_schema or {}, values or {}, "", ctx, use_defaults=values is None)


def _fields_of(schema: dict, ui: dict, values: dict, prefix: str, ctx: _Context, use_defaults: bool) -> list[Field]:
    required = set(schema.get("required") or [])
    conditional = conditional_fields(schema)
    shown: set[str] = set()
    if conditional:
        current = {**{k: p["default"] for k, p in (schema.get("properties") or {}).items()
                      if use_defaults and isinstance(p, dict) and "default" in p}, **values}
        shown = active_fields(schema, current)
    result = []
    for name in _ordered(schema, ui):
        prop = (schema.get("properties") or {}).get(name) or {}
        if not isinstance(prop, dict):
            continue
        sub_ui = ui.get(name) or {}
        full = f"{prefix}{name}"
        if name in values:
            value = values[name]
        elif use_defaults and "default" in prop:
            value = prop["default"]
        else:
            value = None
        f = _field(full, prop, sub_ui, value, name in required, ctx, use_defaults)
        if name in conditional:
            f.when = [c["when"] for c in conditions(schema) if name in c["require"]]
            f.shown = f.required = name in shown or bool(f.error)
        if isinstance(prop.get(TIME_KEYWORD), dict):
            f.time = _time_rules(prop[TIME_KEYWORD], schema, prefix, ctx)
        result.append(f)
    return result


def _time_rules(rules: dict, schema: dict, prefix: str, ctx: _Context) -> dict:
    props = schema.get("properties") or {}
    now = clock.now()
    listed = []
    for rule in RULES:
        target = rules.get(rule)
        if not isinstance(target, str):
            continue
        title = str((props.get(target) or {}).get("title") or target)
        other = "" if target == "now" else "f-" + (prefix + target).replace(".", "-")
        listed.append([rule, other or "now", time_message(rule, target, title)])
    offset = now.astimezone(ctx.tz).utcoffset()
    return {"rules": listed, "now": now.isoformat(), "offset": int(offset.total_seconds() // 60) if offset else 0}


def _field(name: str, prop: dict, ui: dict, value: Any, required: bool, ctx: _Context, use_defaults: bool) -> Field:
    kind = kind_of(prop, ui)
    options = _ui_options(ui)
    f = Field(
        name=name,
        kind=kind,
        label=str(ui.get("ui:title") or prop.get("title") or name.rsplit(".", 1)[-1]),
        required=required,
        help=str(ui.get("ui:help") or prop.get("description") or ""),
        placeholder=str(ui.get("ui:placeholder") or ""),
        error=ctx.errors.get(name, ""),
        inline=bool(options.get("inline")),
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
        max_length=prop.get("maxLength"),
    )
    if ui.get("ui:autofocus") and not ctx.first_autofocus_done:
        f.autofocus, ctx.first_autofocus_done = True, True
    if kind == "readonly":
        # A read-only field shows what the case holds, not what a draft or a post says.
        shown = ctx.case_data.get(name, value) if "." not in name else value
        f.display = display_value(prop, shown, ctx.tz, ctx.yes, ctx.no)
        return f
    if kind == "textarea":
        f.rows_count = int(options.get("rows") or 3)
    if kind == "files":
        rules = prop.get(ATTACHMENT_KEYWORD) if isinstance(prop.get(ATTACHMENT_KEYWORD), dict) else {}
        f.accept = str(rules.get("accept") or DEFAULT_ACCEPT)
        f.capture = bool(rules.get("capture", True))
        f.multiple = _type_of(prop) == "array"
        f.files = [v for v in (value if isinstance(value, list) else [value]) if is_reference(v)]
        f.error = f.error or next((m for k, m in ctx.errors.items() if k.startswith(name + ".")), "")
        return f
    if kind == "group":
        f.children = _fields_of(prop, ui, value if isinstance(value, dict) else {}, name + ".", ctx, use_defaults)
        return f
    if kind == "rows":
        _fill_rows(f, prop, ui, value, ctx, use_defaults)
        return f
    if kind == "checkboxes":
        # jsonschema names the offending item ("symptoms.1"); people see it at the group.
        f.error = f.error or next((m for k, m in ctx.errors.items() if k.startswith(name + ".")), "")
        chosen = value if isinstance(value, list) else []
        f.choices = [
            Choice(_encode(const), title, any(const == v and type(const) is type(v) for v in chosen))
            for const, title in (_choices_of(prop.get("items") or {}) or [])
        ]
        return f
    f.value = value_text(kind, value, ctx.tz)
    if kind in ("select", "radio"):
        f.choices = [Choice(_encode(const), title, _encode(const) == f.value and value is not None)
                     for const, title in _choices_of(prop) or [(True, ctx.yes), (False, ctx.no)]]
    if kind == "checkbox" and isinstance(value, bool):
        f.value = "true" if value else "false"
    return f


def _fill_rows(f: Field, prop: dict, ui: dict, value: Any, ctx: _Context, use_defaults: bool) -> None:
    items = prop.get("items") or {}
    item_ui = ui.get("items") or {}
    lines = value if isinstance(value, list) else []
    for i, line in enumerate(lines):
        f.rows.append(_fields_of(items, item_ui, line if isinstance(line, dict) else {}, f"{f.name}.{i}.", ctx, False))
    if not lines:
        blank = max(BLANK_ROWS, int(prop.get("minItems") or 0))
        for i in range(blank):
            f.rows.append(_fields_of(items, item_ui, {}, f"{f.name}.{i}.", ctx, use_defaults))
    quiet = _Context({}, {}, ctx.tz, ctx.yes, ctx.no, True)
    f.template = _fields_of(items, item_ui, {}, f"{f.name}.__index__.", quiet, True)
    f.columns = [c.label for c in f.template]


# ---------------------------------------------------------------- parsing a submission


def parse_submission(
    schema: dict | None,
    ui_schema: dict | None,
    form: MultiDict,
    *,
    case_data: dict | None = None,
    tz: ZoneInfo | None = None,
) -> Parsed:
    """Typed JSON from the posted form. Empty inputs are left out, so `required` catches them."""
    errors: dict[str, str] = {}
    data = _parse_object(schema or {}, ui_schema or {}, form, "", errors, case_data or {}, tz or ZoneInfo("UTC"))
    return Parsed(data, errors)


def _parse_object(schema: dict, ui: dict, form: MultiDict, prefix: str, errors: dict, case_data: dict, tz: ZoneInfo) -> dict:
    data: dict = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        sub_ui = ui.get(name) or {}
        full = f"{prefix}{name}"
        kind = kind_of(prop, sub_ui)
        if kind in ("readonly", "hidden"):
            # Taken from the case, never from the browser: the page only shows it.
            if not prefix and name in case_data:
                data[name] = case_data[name]
            continue
        if kind == "group":
            value = _parse_object(prop, sub_ui, form, full + ".", errors, case_data, tz)
            if value:
                data[name] = value
            continue
        if kind == "rows":
            rows = _parse_rows(prop, sub_ui, form, full, errors, tz)
            if rows or full in form or prop.get("minItems"):
                data[name] = rows
            continue
        if kind == "files":
            refs = [ref for text in form.getlist(full) if (ref := _reference(text)) is not None]
            if refs:
                data[name] = refs if _type_of(prop) == "array" else refs[0]
            continue
        if kind == "checkboxes":
            items = prop.get("items") or {}
            posted = form.getlist(full)
            choices = _choices_of(items) or []
            values = []
            for text in posted:
                match = [const for const, _ in choices if _encode(const) == text]
                values.append(match[0] if match else text)
            data[name] = values
            continue
        if kind == "checkbox":
            data[name] = form.get(full) in ("true", "on", "1", "yes")
            continue
        text = form.get(full)
        if text is None:
            continue
        value, problem = parse_value(kind, prop, text, tz)
        if problem:
            errors[full] = problem
        if value is not None:
            data[name] = value
    return data


def attachment_fields(schema: dict | None, ui: dict | None, prefix: str = "") -> list[str]:
    """Dotted names of the fields that hold attached files (top level and groups)."""
    names = []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        kind = kind_of(prop, (ui or {}).get(name) or {})
        if kind == "files":
            names.append(prefix + name)
        elif kind == "group":
            names += attachment_fields(prop, (ui or {}).get(name) or {}, f"{prefix}{name}.")
    return names


def _reference(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if is_reference(value) else None


def _row_indices(form: MultiDict, name: str) -> list[int]:
    indices = set()
    start = name + "."
    for key in form.keys():
        if key.startswith(start):
            head = key[len(start):].split(".", 1)[0]
            if head.isdigit():
                indices.add(int(head))
    return sorted(indices)


def _parse_rows(prop: dict, ui: dict, form: MultiDict, name: str, errors: dict, tz: ZoneInfo) -> list:
    items = prop.get("items") or {}
    item_ui = ui.get("items") or {}
    rows = []
    for index in _row_indices(form, name):
        # Renumber: blank lines vanish, so errors must point at the position in the result.
        row_errors: dict[str, str] = {}
        row = _parse_object(items, item_ui, form, f"{name}.{index}.", row_errors, {}, tz)
        if not _row_is_blank(items, item_ui, form, f"{name}.{index}."):
            position = len(rows)
            for key, message in row_errors.items():
                errors[f"{name}.{position}." + key[len(f"{name}.{index}."):]] = message
            rows.append(row)
    return rows


def _row_is_blank(items: dict, ui: dict, form: MultiDict, prefix: str) -> bool:
    for name, prop in (items.get("properties") or {}).items():
        kind = kind_of(prop, ui.get(name) or {})
        if kind == "checkbox":
            if form.get(prefix + name) in ("true", "on", "1", "yes"):
                return False
            continue
        if any(v.strip() for v in form.getlist(prefix + name)):
            return False
    return True


def _normalise(text: str) -> str:
    # Full-width digits and signs (１２３．５) are common on Chinese keyboards.
    return unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("，", "")


def parse_value(kind: str, prop: dict, text: str, tz: ZoneInfo) -> tuple[Any, str]:
    """(typed value or None when empty, error message or "")."""
    if kind == "textarea":
        text = text.replace("\r\n", "\n").strip()
        return (text or None), ""
    if kind in ("text", "email"):
        text = text.strip()
        return (text or None), ""
    if not text.strip():
        return None, ""
    if kind == "integer":
        try:
            return int(_normalise(text)), ""
        except ValueError:
            return text, parse_message("integer")
    if kind == "number":
        try:
            number = float(Decimal(_normalise(text)))
        except (InvalidOperation, ValueError):
            return text, parse_message("number")
        return (int(number) if number.is_integer() and abs(number) < 2**53 else number), ""
    if kind == "money":
        try:
            amount = Decimal(_normalise(text).lstrip("¥￥"))
        except InvalidOperation:
            return text, parse_message("money")
        if not amount.is_finite() or amount.as_tuple().exponent < -2:
            return text, parse_message("money")
        return float(amount), ""
    if kind == "date":
        try:
            return date.fromisoformat(text.strip()).isoformat(), ""
        except ValueError:
            return text, parse_message("date")
    if kind == "datetime":
        return _parse_datetime(text.strip(), tz)
    if kind in ("select", "radio"):
        choices = _choices_of(prop)
        if choices is None and _type_of(prop) == "boolean":
            choices = [(True, ""), (False, "")]
        for const, _ in choices or []:
            if _encode(const) == text:
                return const, ""
        return text, ""  # validation reports a value that is not an option
    return text, ""


def _parse_datetime(text: str, tz: ZoneInfo) -> tuple[Any, str]:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text, parse_message("datetime")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # what people type is their own wall-clock time
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), ""


# ---------------------------------------------------------------- validation messages


def _error_key(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if (missing_one := dependency_field(error)) is not None:
        return ".".join([*path, missing_one])
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return ".".join([*path, missing[0]]) if missing else ".".join(path) or "data"
    return ".".join(path) or "data"


def validation_errors(schema: dict | None, data: dict) -> dict[str, str]:
    """field -> message in the user's language, one per field (the first problem found)."""
    if not schema:
        return {}
    validator = validator_for(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator == "required":
            for missing in error.validator_value:
                if isinstance(error.instance, dict) and missing not in error.instance:
                    key = ".".join([*map(str, error.absolute_path), missing])
                    errors.setdefault(key, message_for(error))
            continue
        errors.setdefault(_error_key(error), message_for(error))
    return errors


def localise_errors(schema: dict | None, data: dict, engine_errors: dict[str, str]) -> dict[str, str]:
    """The engine's errors (authoritative) with messages in the user's language where known."""
    ours = validation_errors(schema, data)
    return {key: ours.get(key, message) for key, message in engine_errors.items()} | {
        k: v for k, v in ours.items() if k not in engine_errors
    }


def field_names(fields: list[Field]) -> set[str]:
    names = set()
    for f in fields:
        names.add(f.name)
        names |= field_names(f.children)
        for row in f.rows:
            names |= field_names(row)
    return names


def unplaced_errors(fields: list[Field], errors: dict[str, str]) -> dict[str, str]:
    """Errors that no field shows beside itself; the page lists them at the top."""
    names = field_names(fields)
    groups = [f.name + "." for f in _walk(fields) if f.kind == "checkboxes"]
    return {k: v for k, v in errors.items() if k not in names and not any(k.startswith(g) for g in groups)}


def _walk(fields: list[Field]):
    for f in fields:
        yield f
        yield from _walk(f.children)
        for row in f.rows:
            yield from _walk(row)


def labels_of(schema: dict | None) -> dict[str, str]:
    """Top-level field name -> title, for showing case data."""
    return {
        name: str(prop.get("title") or name)
        for name, prop in ((schema or {}).get("properties") or {}).items()
        if isinstance(prop, dict)
    }


def field_labels(fields: list[Field], prefix: str = "") -> dict[str, str]:
    """Dotted name -> label, lines of rows numbered for people ("配件 2 · 数量")."""
    labels: dict[str, str] = {}
    for f in fields:
        labels[f.name] = prefix + f.label
        for i in range(len(f.choices)) if f.kind == "checkboxes" else ():
            labels[f"{f.name}.{i}"] = prefix + f.label
        labels |= field_labels(f.children, prefix + f.label + " · ")
        for i, row in enumerate(f.rows, start=1):
            labels |= field_labels(row, f"{prefix}{f.label} {i} · ")
    return labels
