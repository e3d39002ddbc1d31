"""Validation messages in the user's language.

The engine's own messages are for API clients ("required / 必填", jsonschema's English);
staff get one sentence per problem in the language they chose.
"""

from __future__ import annotations

from flask_babel import gettext as _


def parse_message(kind: str) -> str:
    return {
        "integer": _("Enter a whole number."),
        "number": _("Enter a number."),
        "money": _("Enter an amount with at most two decimals."),
        "date": _("Enter a date (year-month-day)."),
        "datetime": _("Enter a date and time."),
    }.get(kind, _("This value is not valid."))


def time_message(rule: str, target: str, title: str) -> str:
    """A broken time rule (see webapp.engine.form_rules) as a sentence for staff."""
    if target == "now":
        if rule == "after":
            return _("Enter a time later than now.")
        if rule == "notBefore":
            return _("This may not lie in the past.")
        return _("This may not lie in the future.")
    return {
        "after": _("Enter a time after “%(field)s”.", field=title),
        "notBefore": _("This may not be earlier than “%(field)s”.", field=title),
        "before": _("Enter a time before “%(field)s”.", field=title),
        "notAfter": _("This may not be later than “%(field)s”.", field=title),
    }[rule]


def message_for(error) -> str:
    """One jsonschema ValidationError as a sentence for staff."""
    v, limit = error.validator, error.validator_value
    if v == "x-time":
        return time_message(limit["rule"], limit["target"], str(limit.get("title") or limit["target"]))
    if v in ("required", "dependentRequired"):
        return _("This field is required.")
    if v == "minLength":
        if limit == 1:
            return _("This field is required.")
        return _("Enter at least %(num)d characters.", num=limit)
    if v == "maxLength":
        return _("Enter at most %(num)d characters.", num=limit)
    if v == "pattern":
        return _("The format is not valid.")
    if v == "format":
        return {
            "email": _("Enter a valid e-mail address."),
            "date": _("Enter a date (year-month-day)."),
            "date-time": _("Enter a date and time."),
        }.get(limit, _("The format is not valid."))
    if v == "minimum":
        return _("Enter %(num)s or more.", num=limit)
    if v == "maximum":
        return _("Enter %(num)s or less.", num=limit)
    if v == "exclusiveMinimum":
        return _("Enter more than %(num)s.", num=limit)
    if v == "exclusiveMaximum":
        return _("Enter less than %(num)s.", num=limit)
    if v == "multipleOf":
        return _("Enter a multiple of %(num)s.", num=limit)
    if v in ("oneOf", "anyOf", "enum", "const"):
        return _("Choose one of the options.")
    if v == "minItems":
        return _("Add at least %(num)d lines.", num=limit)
    if v == "maxItems":
        return _("Add at most %(num)d lines.", num=limit)
    if v == "uniqueItems":
        return _("Each entry may appear only once.")
    if v == "type":
        return {
            "integer": _("Enter a whole number."),
            "number": _("Enter a number."),
            "boolean": _("Choose yes or no."),
        }.get(limit if isinstance(limit, str) else "", _("This value is not valid."))
    return _("This value is not valid.")
