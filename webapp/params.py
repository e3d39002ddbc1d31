"""Request parameters, checked before anything uses them: bad input is a 400 naming the
field and the reason (JSON for the API and the pages' JSON calls, the error page otherwise),
never a 500 from a database that cannot hold the number or a date that cannot be a day later.

Views read their query parameters with `int_arg`, `page_arg`, `limit_arg` and `day_arg`, and
JSON bodies with `json_body`; `install` adds the checks every request gets (integers in URL
paths within the database's range, no NUL characters, which PostgreSQL cannot store)."""

from __future__ import annotations

import json
from datetime import date

from flask import Flask, jsonify, render_template, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL integer; SQLite's is wider, but ids never get there
MAX_PAGE = 100_000
MAX_JSON_DEPTH = 64
# A day is also turned into the moment it starts in the reader's time zone and into the next
# day's: one year of margin keeps that arithmetic inside Python's years 1..9999.
FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)


class BadParameter(ValueError):
    """A request parameter that cannot be used: 400 with {field: reason}."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _whole_number_arg(name: str) -> int | None:
    """The query parameter as a whole number; None when it is absent or blank."""
    text = request.args.get(name)
    if text is None or text.strip() == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise BadParameter(name, "not a whole number") from None


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    value = _whole_number_arg(name)
    if value is None:
        return default
    if not minimum <= value <= maximum:
        raise BadParameter(name, f"must be between {minimum} and {maximum}")
    return value


def int_value(value, field: str, *, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """A whole number from a JSON body or a form (an int, or text of one)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadParameter(field, "not a whole number")
    try:
        number = int(value)
    except ValueError:
        raise BadParameter(field, "not a whole number") from None
    if not minimum <= number <= maximum:
        raise BadParameter(field, f"must be between {minimum} and {maximum}")
    return number


def page_arg(name: str = "page") -> int:
    return int_arg(name, 1, minimum=1, maximum=MAX_PAGE)


def limit_arg(name: str = "limit", *, default: int, maximum: int) -> int:
    """A page size: at least 1; anything above the maximum page is the maximum page."""
    value = _whole_number_arg(name)
    if value is None:
        return default
    if value < 1:
        raise BadParameter(name, "must be at least 1")
    return min(value, maximum)


def parse_day(text: str | None, field: str) -> date | None:
    """YYYY-MM-DD between FIRST_DAY and LAST_DAY (None when empty)."""
    if text is None or text.strip() == "":
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadParameter(field, "not a date: use YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadParameter(field, f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return day


def day_arg(name: str) -> date | None:
    return parse_day(request.args.get(name), name)


def day_range_args(first: str = "from", last: str = "to") -> tuple[date | None, date | None]:
    start, end = day_arg(first), day_arg(last)
    if start and end and end < start:
        raise BadParameter(last, f"is before {first}")
    return start, end


def check_json(value, field: str = "body", max_depth: int = MAX_JSON_DEPTH):
    """The value, if no container is nested deeper than max_depth and no text holds NUL."""
    stack = [(value, 1, field)]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise BadParameter(field, f"nested deeper than {max_depth} levels")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and "\x00" in key:
                    raise BadParameter(field, "contains a NUL character")
                stack.append((child, depth + 1, where))
        elif isinstance(item, str) and "\x00" in item:
            raise BadParameter(field, "contains a NUL character")
    return value


def loads(text: str | bytes, field: str = "body"):
    """JSON text, parsed and checked (a document nested thousands deep is a 400, not a RecursionError)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadParameter(field, "not valid JSON (or nested too deep)") from None
    return check_json(value, field)


def json_body(field: str = "body"):
    """The request's JSON body, parsed and checked; None when there is none."""
    data = request.get_data(cache=True)
    if not data.strip():
        return None
    return loads(data, field)


class BoundedIntConverter(IntegerConverter):
    """<int:...> in a URL: a number no table can hold does not match (404), as an unknown id."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _wants_json() -> bool:
    return (request.blueprint == "api" or "/api/" in request.path or request.path.endswith(".json")
            or request.is_json)


def _check_text_inputs() -> None:
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            raise BadParameter(key, "contains a NUL character")
    # a form is only parsed from these bodies (werkzeug): any other request has an empty one,
    # and building it for every GET and JSON call cost more than the check itself
    has_form = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    sources = [request.args] + ([request.form] if has_form else [])
    for source in sources:
        for key, values in source.lists():
            # a multipart part that is not valid text reads as None (werkzeug): nothing to check
            if "\x00" in (key or "") or any(isinstance(v, str) and "\x00" in v for v in values):
                raise BadParameter(key.replace("\x00", ""), "contains a NUL character")


def install(app: Flask) -> None:
    """Before any blueprint is registered (the converter applies to rules as they are added)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_check_text_inputs)

    @app.errorhandler(BadParameter)
    def _bad_parameter(err: BadParameter):
        if _wants_json():
            return jsonify({"error": f"invalid parameter {err.field}: {err.reason}", "errors": {err.field: err.reason},
                            "code": "invalid_parameter"}), 400
        return render_template("error.html", code=400, reason="parameter", field=err.field, param_reason=err.reason), 400
