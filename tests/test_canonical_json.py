"""canonical_json is json.dumps(sort_keys, compact, ensure_ascii=False) byte for byte, also
where it takes orjson's way (every history hash and docs/verify_history.py rest on that text)."""

from __future__ import annotations

import datetime
import json
import random

import pytest

from webapp.engine.serialization import canonical_copy, canonical_json


def _reference(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _nested(depth: int) -> object:
    value: object = {"leaf": 1}
    for n in range(depth):
        value = {"k": [value, n]} if n % 2 else [value]
    return value


_random = random.Random(17)
_KEYS = [chr(_random.choice([_random.randrange(0x20, 0xD800), _random.randrange(0xE000, 0x110000)]))
         + chr(_random.randrange(0x20, 0x3000)) for _ in range(500)]

VALUES = [
    {},
    [],
    {"amount": 500},
    {"b": 1, "a": {"d": [1, 2, {"z": None, "y": True}], "c": False}},
    "".join(chr(n) for n in range(0x800)),  # every control character and escape, Latin, Greek...
    {"\u2028\u2029\ufeff\uffff\U00010000\U0010ffff": "\x7f\x00\x1f\\\"/"},
    {key: n for n, key in enumerate(_KEYS)},  # key order: code points, astral plane included
    {"ä": 1, "a": 2, "Z": 3, "": 4, "\U0001f600": 5, "\uff00": 6},
    (1, "two", (3, [4])),  # tuples are arrays
    [2**63 - 1, -(2**63), 2**64 - 1, 0, -1],
    [2**64, -(2**63) - 1, 10**30],  # beyond orjson's range: json's way
    "\ud800 lone surrogate",  # orjson refuses it: json's way
    {"x": 1.5, "y": 1e-07, "z": 1e16, "w": -0.0},  # floats: json's text
    [float("nan"), float("inf"), float("-inf")],
    {1: "int key", 2: "b"},  # non-str keys: json's conversion
    {True: 1, False: 2},
    _nested(60),
    _nested(300),  # deeper than orjson goes
    [{"a": [{"b": [None] * 3}]} for _ in range(50)],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_canonical_json_is_json_dumps_byte_for_byte(value):
    text = canonical_json(value)
    assert text == _reference(value)
    copied_text, copied = canonical_copy(value)
    assert copied_text == text
    assert copied == json.loads(text)
    assert canonical_json(copied) == _reference(json.loads(text))


class _Str(str):
    pass


@pytest.mark.parametrize("value", [{_Str("a"): 1, "b": _Str("x")}, [_Str("s")]], ids=["key", "item"])
def test_subclasses_are_written_as_json_writes_them(value):
    assert canonical_json(value) == _reference(value)


@pytest.mark.parametrize(
    "value",
    [datetime.datetime(2026, 1, 1), {"when": datetime.date(2026, 1, 1)}, [object()], {"a": {1, 2}}],
    ids=["datetime", "date", "object", "set"],
)
def test_what_json_refuses_is_refused_alike(value):
    with pytest.raises(TypeError):
        _reference(value)
    with pytest.raises(TypeError):
        canonical_json(value)
    with pytest.raises(TypeError):
        canonical_copy(value)


def test_a_circular_value_is_json_s_error():
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_json(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_copy(loop)


def test_mixed_key_types_fail_as_json_fails():
    with pytest.raises(TypeError):
        _reference({"a": 1, 2: 3})
    with pytest.raises(TypeError):
        canonical_json({"a": 1, 2: 3})


_BODIES = [
    {"instance_id": 7, "seq": 3, "at": "2026-11-29T01:02:03.000004+00:00", "actor": "张三", "type": "task_completed",
     "bpmn_id": "intake", "task_id": "3f2a7c1e-0000-4000-8000-000000000001", "state_hash": "ab" * 32},
    {"instance_id": 2**64, "seq": 1, "at": "t", "actor": "a", "type": "t", "bpmn_id": None, "task_id": None,
     "state_hash": "x"},  # beyond orjson's range: the body takes canonical_json's way
    {"instance_id": 1, "seq": 1, "at": "t", "actor": "\udc00", "type": "t", "bpmn_id": None, "task_id": None,
     "state_hash": "x"},  # a lone surrogate orjson refuses
]


@pytest.mark.parametrize("value", VALUES[:-3] + [{"data": {"amount": 500, "note": "ü\u2028"}}], ids=range(len(VALUES) - 2))
@pytest.mark.parametrize("body", _BODIES, ids=["plain", "big int", "surrogate"])
@pytest.mark.parametrize("through", ["command", "passive"])
def test_an_event_body_hashes_what_verification_reads_back(value, body, through):
    """history.append stores the payload's text and hashes the body's text made from it
    (a command's input made canonical once, in runtime._apply, or an event's payload as
    given); verification (history.event_body, docs/verify_history.py) hashes canonical_json
    of the body with the payload json.loads read back from the stored text."""
    from webapp.engine.history import stored_texts
    from webapp.engine.serialization import canonical_copy_fixed

    if through == "command":  # what runtime._apply hands to append
        text, payload, fixed = canonical_copy_fixed(value)
        payload_text = text if fixed else None
    else:
        payload, payload_text = value, None
    stored, body_text = stored_texts(dict(body), payload, payload_text)
    assert stored == canonical_copy(payload)[0]  # what append stored before the text was passed
    if "\udc00" in body["actor"] or (isinstance(value, str) and "\ud800" in value):
        with pytest.raises(UnicodeEncodeError):  # sha256_hex's encode: as before
            body_text.encode()
        return
    assert body_text == canonical_json({**body, "payload": json.loads(stored)})
def test_int_keys_come_back_sorted_as_strings():
    """Why append re-makes the text unless orjson wrote it: json's way sorts int keys as
    numbers, and the read-back's keys, now strings, sort otherwise."""
    from webapp.engine.serialization import canonical_copy_fixed

    text, read_back, fixed = canonical_copy_fixed({2: "a", 10: "b"})
    assert not fixed
    assert canonical_json(read_back) != text
