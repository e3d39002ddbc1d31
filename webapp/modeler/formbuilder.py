"""The form builder's model: a list of fields read from a JSON Schema + UI schema, and written
back into them.

The builder edits what a process owner asks for (label, type, required, options, a condition,
limits) and nothing else: each field is written over a copy of its original property and UI
entry, so keys the builder does not model (patterns, defaults, descriptions, nested groups,
`dependentSchemas`, other `allOf` entries...) stay exactly as they were. A property whose shape
the builder does not know is listed with type "other" and written back untouched.

Conditions are written the way the existing forms do: "required when X = value" as an
`allOf` entry `{"if": {"properties": {X: {"const": value}}, "required": [X]}, "then": {"required": [...]}}`,
"required when X is filled" as `dependentRequired`. The renderer shows such a field only while
its condition holds (forms_render, form_rules.active_fields).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..engine.form_rules import RULES, TIME_KEYWORD
from ..forms_render import ATTACHMENT_KEYWORD, DEFAULT_ACCEPT

TYPES = ("text", "textarea", "number", "integer", "date", "datetime", "select", "multiselect", "boolean",
         "files", "table", "other")
COLUMN_TYPES = ("text", "number", "integer")
KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
# What the builder writes into a property; everything else of a property is left as it was.
_TYPED_KEYS = ("type", "format", "oneOf", "anyOf", "enum", "enumNames", "items", ATTACHMENT_KEYWORD, "uniqueItems",
               "maxLength", "minLength", "minimum", "maximum", "maxItems", "minItems", TIME_KEYWORD)
_LIMITS = {"text": ("minLength", "maxLength"), "textarea": ("minLength", "maxLength"),
           "number": ("minimum", "maximum"), "integer": ("minimum", "maximum"),
           "multiselect": ("minItems", "maxItems"), "files": ("minItems", "maxItems"), "table": ("minItems", "maxItems")}
_INTEGER_LIMITS = {"minLength", "maxLength", "minItems", "maxItems"}


class BuilderInvalid(ValueError):
    """Fields that cannot be written: `errors` maps "fields.N.what" to the reason."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# ---------------------------------------------------------------- reading


def _options(prop: dict) -> list[dict] | None:
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [{"value": o["const"], "label": str(o.get("title", o["const"]))} for o in options]
    if isinstance(prop.get("enum"), list):
        names = prop.get("enumNames") or []
        return [{"value": v, "label": str(names[i]) if i < len(names) else str(v)} for i, v in enumerate(prop["enum"])]
    return None


def type_of(prop: dict, ui: dict) -> str:
    """The builder's type of a property ("other" when the builder does not model it)."""
    widget = ui.get("ui:widget") or ""
    kind = prop.get("type")
    if ATTACHMENT_KEYWORD in prop:
        return "files" if kind == "array" else "other"
    if prop.get("readOnly") or ui.get("ui:readonly") or widget == "hidden" or isinstance(kind, list):
        return "other"
    if kind == "string":
        if _options(prop) is not None:
            return "select" if isinstance(prop.get("oneOf"), list) else "other"
        fmt = prop.get("format")
        if fmt == "date":
            return "date"
        if fmt == "date-time":
            return "datetime"
        if fmt is None:
            return "textarea" if widget == "textarea" else "text"
        return "other"
    if kind in ("number", "integer"):
        return kind if _options(prop) is None else "other"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if items.get("type") == "string" and isinstance(items.get("oneOf"), list) and _options(items) is not None:
            return "multiselect"
        if items.get("type") == "object" and _columns(items, ui.get("items") or {}) is not None:
            return "table"
    return "other"


def _columns(items: dict, item_ui: dict) -> list[dict] | None:
    columns = []
    for key, prop in (items.get("properties") or {}).items():
        if not isinstance(prop, dict) or type_of(prop, item_ui.get(key) or {}) not in COLUMN_TYPES:
            return None
        columns.append({"key": key, "label": str(prop.get("title") or ""), "type": type_of(prop, item_ui.get(key) or {}),
                        "required": key in (items.get("required") or [])})
    return columns


def _simple_condition(entry: object) -> tuple[str, Any, list[str]] | None:
    """(field, value, fields it requires) for an allOf entry of the builder's shape, else None."""
    if not isinstance(entry, dict) or set(entry) != {"if", "then"}:
        return None
    cond, then = entry["if"], entry["then"]
    if not isinstance(cond, dict) or not isinstance(then, dict) or set(then) != {"required"}:
        return None
    props = cond.get("properties")
    if set(cond) - {"properties", "required"} or not isinstance(props, dict) or len(props) != 1:
        return None
    (name, test), = props.items()
    if not isinstance(test, dict) or set(test) != {"const"} or cond.get("required", [name]) != [name]:
        return None
    required = then["required"]
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        return None
    return name, test["const"], required


def _ordered(schema: dict, ui: dict) -> list[str]:
    props = list((schema.get("properties") or {}).keys())
    listed = ui.get("ui:order") if isinstance(ui.get("ui:order"), list) else []
    order = [n for n in listed if isinstance(n, str) and n in props]
    return order + [p for p in props if p not in order]


def fields_of(schema: dict, ui: dict) -> list[dict]:
    """The builder's list of fields for a form, in the order staff see them."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    when: dict[str, dict] = {}
    for entry in schema.get("allOf") or []:
        if simple := _simple_condition(entry):
            name, value, targets = simple
            for target in targets:
                when.setdefault(target, {"field": name, "op": "equals", "value": value})
    for name, targets in (schema.get("dependentRequired") or {}).items():
        for target in targets if isinstance(targets, list) else []:
            when.setdefault(target, {"field": name, "op": "filled", "value": None})
    fields = []
    for key in _ordered(schema, ui):
        prop = props[key] if isinstance(props[key], dict) else {}
        sub_ui = ui.get(key) if isinstance(ui.get(key), dict) else {}
        kind = type_of(prop, sub_ui)
        f: dict[str, Any] = {
            "original": key, "key": key, "type": kind, "label": str(prop.get("title") or ""),
            # a conditional field is required while its condition holds
            "required": key in required or key in when, "help": str(sub_ui.get("ui:help") or ""),
            "placeholder": str(sub_ui.get("ui:placeholder") or ""),
            "options": [], "columns": [], "limits": {}, "time": {}, "condition": when.get(key),
        }
        if kind == "select":
            f["options"] = _options(prop) or []
        elif kind == "multiselect":
            f["options"] = _options(prop["items"]) or []
        elif kind == "table":
            f["columns"] = _columns(prop["items"], sub_ui.get("items") or {}) or []
        for limit in _LIMITS.get(kind, ()):
            if limit in prop:
                f["limits"][limit] = prop[limit]
        if kind in ("date", "datetime") and isinstance(prop.get(TIME_KEYWORD), dict):
            f["time"] = {r: t for r, t in prop[TIME_KEYWORD].items() if r in RULES}
        fields.append(f)
    return fields


# ---------------------------------------------------------------- checking


def _number(value: Any, integer: bool, count: bool = False) -> int | float | None:
    """A limit typed in the builder (text or number); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a number / 须为数字")
    try:
        number = float(value) if not isinstance(value, int | float) else value
    except (TypeError, ValueError):
        raise ValueError("a number / 须为数字") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("a number / 须为数字")
    if count and (not float(number).is_integer() or number < 0):
        raise ValueError("a whole number ≥ 0 / 须为非负整数")
    if integer and not float(number).is_integer():
        raise ValueError("a whole number / 须为整数")
    return int(number) if float(number).is_integer() else number


def typed_value(kind: str, options: list[dict], raw: Any) -> Any:
    """A condition's value in the JSON type of the field it tests."""
    if kind == "boolean":
        if raw in (True, "true", "True", "是", "1"):
            return True
        if raw in (False, "false", "False", "否", "0"):
            return False
        raise ValueError("true or false / 须为 true 或 false")
    if kind in ("number", "integer"):
        number = _number(raw, False)
        if number is None or (kind == "integer" and not float(number).is_integer()):
            raise ValueError("a number / 须为数字")
        return int(number) if kind == "integer" else number
    if kind == "select":
        values = [o["value"] for o in options]
        if raw not in values:
            raise ValueError("one of the field's options / 须为该字段的选项之一")
        return raw
    if kind in ("text", "textarea") and isinstance(raw, str) and raw:
        return raw
    raise ValueError("a condition tests a text, number, yes/no or single-choice field / 条件只能判断文本、数字、是否或单选字段")


def check(fields: object) -> list[dict]:
    """The fields, cleaned; BuilderInvalid naming every problem ("fields.N.what": reason)."""
    errors: dict[str, str] = {}
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise BuilderInvalid({"fields": "a list of field objects / 须为字段列表"})
    keys = [f.get("key") for f in fields]
    by_key = {f["key"]: f for f in fields if isinstance(f.get("key"), str)}
    cleaned = []
    for i, f in enumerate(fields):
        at = f"fields.{i}"
        key, kind = f.get("key"), f.get("type")
        if not isinstance(key, str) or not KEY.match(key):
            errors[f"{at}.key"] = ("lower-case letters, digits and _, not starting with a digit"
                                   " / 小写字母、数字和下划线，不以数字开头")
        elif keys.count(key) > 1:
            errors[f"{at}.key"] = f"the key {key} is used twice / 字段名 {key} 重复"
        if kind not in TYPES:
            errors[f"{at}.type"] = f"one of {', '.join(TYPES)} / 未知类型"
            continue
        if kind == "other" and not isinstance(f.get("original"), str):
            errors[f"{at}.type"] = "choose a type / 请选择类型"
        label = f.get("label")
        if kind != "other" and (not isinstance(label, str) or not label.strip()):
            errors[f"{at}.label"] = "a label staff read / 请填写标签"
        original = f.get("original") if isinstance(f.get("original"), str) else None
        clean = dict(f, original=original, label=str(label or "").strip(), required=f.get("required") is True)
        if kind in ("select", "multiselect"):
            options = f.get("options") if isinstance(f.get("options"), list) else []
            values = [o.get("value") for o in options if isinstance(o, dict)]
            if not options:
                errors[f"{at}.options"] = "at least one option / 至少一个选项"
            elif len(values) != len(options) or any(not isinstance(v, str) for v in values):
                errors[f"{at}.options"] = "each option has a value / 每个选项须有取值"
            elif len(set(values)) != len(values):
                errors[f"{at}.options"] = "option values are unique / 选项取值不能重复"
            clean["options"] = [{"value": o.get("value"), "label": str(o.get("label") or o.get("value"))}
                                for o in options if isinstance(o, dict)]
        if kind == "table":
            columns = f.get("columns") if isinstance(f.get("columns"), list) else []
            names = [c.get("key") for c in columns if isinstance(c, dict)]
            if not columns:
                errors[f"{at}.columns"] = "at least one column / 至少一列"
            elif len(names) != len(columns) or any(not isinstance(n, str) or not KEY.match(n) for n in names) \
                    or len(set(names)) != len(names):
                errors[f"{at}.columns"] = "each column has a unique key / 每列须有不重复的字段名"
            elif any(c.get("type") not in COLUMN_TYPES for c in columns):
                errors[f"{at}.columns"] = "columns are text, number or integer / 列的类型为文本、数字或整数"
        limits = f.get("limits") if isinstance(f.get("limits"), dict) else {}
        clean["limits"] = {}
        for name in _LIMITS.get(kind, ()):
            try:
                value = _number(limits.get(name), kind == "integer", name in _INTEGER_LIMITS)
            except (TypeError, ValueError) as err:
                errors[f"{at}.limits.{name}"] = str(err)
                continue
            if value is not None:
                clean["limits"][name] = value
        low, high = (clean["limits"].get(n) for n in _LIMITS.get(kind, ("", ""))) if kind in _LIMITS else (None, None)
        if low is not None and high is not None and low > high:
            errors[f"{at}.limits"] = "the lower limit is above the upper one / 下限大于上限"
        time = f.get("time") if isinstance(f.get("time"), dict) else {}
        clean["time"] = {}
        if kind in ("date", "datetime"):
            for rule, target in time.items():
                if not target:
                    continue
                sibling = by_key.get(target) if isinstance(target, str) else None
                if rule not in RULES:
                    errors[f"{at}.time"] = f"rules are {', '.join(RULES)} / 未知时间规则"
                elif target != "now" and (sibling is None or sibling.get("type") not in ("date", "datetime")
                                          or target == key):
                    errors[f"{at}.time.{rule}"] = "now or another date field / 须为“现在”或另一个日期字段"
                else:
                    clean["time"][rule] = target
        condition = f.get("condition")
        clean["condition"] = None
        if condition:
            named = condition.get("field") if isinstance(condition, dict) else None
            other = by_key.get(named) if isinstance(named, str) else None
            op = condition.get("op", "equals") if isinstance(condition, dict) else None
            if other is None or other is f:
                errors[f"{at}.condition.field"] = "another field of this form / 须为本表单的另一字段"
            elif op not in ("equals", "filled"):
                errors[f"{at}.condition.op"] = "equals or filled / 须为“等于”或“已填写”"
            elif op == "filled":
                clean["condition"] = {"field": other["key"], "op": "filled", "value": None}
            else:
                try:
                    value = typed_value(other.get("type"), other.get("options") or [], condition.get("value"))
                except ValueError as err:
                    errors[f"{at}.condition.value"] = str(err)
                else:
                    clean["condition"] = {"field": other["key"], "op": "equals", "value": value}
        cleaned.append(clean)
    if errors:
        raise BuilderInvalid(errors)
    return cleaned


# ---------------------------------------------------------------- writing


def _property(f: dict, original: dict, original_type: str | None) -> dict:
    kind = f["type"]
    prop = copy.deepcopy(original)
    if kind == "other":
        if f["label"]:
            prop["title"] = f["label"]
        return prop
    if original_type != kind:
        for key in _TYPED_KEYS:
            prop.pop(key, None)
    for key in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", TIME_KEYWORD):
        prop.pop(key, None)
    prop["title"] = f["label"]
    if kind in ("text", "textarea", "date", "datetime", "select"):
        prop["type"] = "string"
    elif kind in ("number", "integer", "boolean"):
        prop["type"] = kind
    else:
        prop["type"] = "array"
    if kind == "date":
        prop["format"] = "date"
    elif kind == "datetime":
        prop["format"] = "date-time"
    options = [{"const": o["value"], "title": o["label"]} for o in f.get("options") or []]
    if kind == "select":
        prop.pop("enum", None)
        prop["oneOf"] = options
    elif kind == "multiselect":
        prop["items"] = {"type": "string", "oneOf": options}
        prop["uniqueItems"] = True
    elif kind == "files":
        prop.setdefault(ATTACHMENT_KEYWORD, {"accept": DEFAULT_ACCEPT, "capture": True})
        prop.setdefault("items", {"type": "object", "required": ["attachment", "sha256"], "properties": {
            "attachment": {"type": "string"}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "name": {"type": "string"}, "size": {"type": "integer"}, "content_type": {"type": "string"}}})
    elif kind == "table":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        old = items.get("properties") or {}
        columns = {}
        for c in f["columns"]:
            column = copy.deepcopy(old.get(c["key"]) or {})
            column["type"] = "string" if c["type"] == "text" else c["type"]
            column["title"] = str(c.get("label") or c["key"])
            columns[c["key"]] = column
        items = {**items, "type": "object", "properties": columns,
                 "required": [c["key"] for c in f["columns"] if c.get("required") is True]}
        if not items["required"]:
            del items["required"]
        prop["items"] = items
    prop.update(f["limits"])
    if f["time"]:
        prop[TIME_KEYWORD] = dict(f["time"])
    return _in_order_of(original, prop)


def _in_order_of(original: dict, new: dict) -> dict:
    """`new` with its keys in the order `original` had them (new keys after): small diffs."""
    return {**{k: new[k] for k in original if k in new}, **{k: v for k, v in new.items() if k not in original}}


def _ui_entry(f: dict, original: dict, original_type: str | None) -> dict:
    entry = copy.deepcopy(original)
    kind = f["type"]
    if kind == "other":
        return entry
    if original_type != kind:
        entry.pop("ui:widget", None)
        if kind == "textarea":
            entry["ui:widget"] = "textarea"
        elif kind == "select":
            entry["ui:widget"] = "select"
        if kind != "table":
            entry.pop("items", None)
    for name, key in (("help", "ui:help"), ("placeholder", "ui:placeholder")):
        text = str(f.get(name) or "").strip()
        if text:
            entry[key] = text
        else:
            entry.pop(key, None)
    return entry


def write(fields: list[dict], schema: dict, ui: dict) -> tuple[dict, dict]:
    """The form's schema and UI schema with the (checked) fields written over the originals."""
    schema, ui = copy.deepcopy(schema) if isinstance(schema, dict) else {}, copy.deepcopy(ui) if isinstance(ui, dict) else {}
    same_order = [f["key"] for f in fields] == _ordered(schema, ui)
    ui_keys = list(ui)
    old_required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    old_props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    renamed = {f["original"]: f["key"] for f in fields if f.get("original") and f["original"] != f["key"]}
    originals = {f.get("original") for f in fields}
    for name in old_props:
        if name not in originals:
            ui.pop(name, None)  # a field taken out of the form takes its layout with it
    props, required = {}, []
    for f in fields:
        original = old_props.get(f.get("original")) if f.get("original") else None
        original = original if isinstance(original, dict) else {}
        old_ui = ui.pop(f["original"], None) if f.get("original") in ui else None
        old_ui = old_ui if isinstance(old_ui, dict) else {}
        original_type = type_of(original, old_ui) if f.get("original") in old_props else None
        props[f["key"]] = _property(f, original, original_type)
        entry = _ui_entry(f, old_ui, original_type)
        if entry:
            ui[f["key"]] = entry
        if f["required"] and not f["condition"]:
            required.append(f["key"])
    schema.setdefault("type", "object")
    # properties keep the file's order (ui:order says the order on screen); new ones at the end
    first = [renamed.get(name, name) for name in old_props if renamed.get(name, name) in props]
    schema["properties"] = {**{k: props[k] for k in first}, **props}
    # the order of `required` as it was, new ones after: an unchanged form writes the same file
    position = {renamed.get(r, r): i for i, r in enumerate(old_required)}
    required.sort(key=lambda name: position.get(name, len(position)))
    if required or "required" in schema:
        schema["required"] = required
    # Conditions: the builder's own shapes are rewritten where they stood, every other entry stays.
    dependent: dict[str, list[str]] = {}  # the builder reads every dependentRequired, so writes it whole
    groups: dict[tuple[str, str], dict] = {}
    for f in fields:
        cond = f["condition"]
        if not cond:
            continue
        if cond["op"] == "filled":
            dependent.setdefault(cond["field"], []).append(f["key"])
            continue
        entry = groups.setdefault(_marker(cond["field"], cond["value"]), {
            "if": {"properties": {cond["field"]: {"const": cond["value"]}}, "required": [cond["field"]]},
            "then": {"required": []}})
        entry["then"]["required"].append(f["key"])
    all_of, placed = [], set()
    for entry in schema.get("allOf") or []:
        simple = _simple_condition(entry)
        if simple is None:
            all_of.append(_renamed(entry, renamed))
            continue
        marker = _marker(renamed.get(simple[0], simple[0]), simple[1])
        if marker in groups and marker not in placed:
            placed.add(marker)
            old_order = [renamed.get(r, r) for r in simple[2]]
            group = groups[marker]
            group["then"]["required"].sort(key=lambda n: old_order.index(n) if n in old_order else len(old_order))
            all_of.append(group)
    all_of += [group for marker, group in groups.items() if marker not in placed]
    if all_of:
        schema["allOf"] = all_of
    else:
        schema.pop("allOf", None)
    if dependent:
        schema["dependentRequired"] = dependent
    else:
        schema.pop("dependentRequired", None)
    if not same_order or "ui:order" not in ui:
        ui["ui:order"] = [f["key"] for f in fields]
    return schema, _in_order_of({renamed.get(k, k): None for k in ui_keys}, ui)


def _marker(name: str, value: Any) -> tuple[str, str]:
    return name, json.dumps(value, sort_keys=True)


def _renamed(value: Any, renamed: dict[str, str]) -> Any:
    """A kept condition that names a renamed field names it by its new key."""
    if not renamed:
        return value
    if isinstance(value, dict):
        return {renamed.get(k, k) if isinstance(k, str) else k: _renamed(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed.get(v, v) if isinstance(v, str) else _renamed(v, renamed) for v in value]
    return value
