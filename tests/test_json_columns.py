"""JSON columns are read through webapp/json_columns.loads: the same values json.loads gives,
for every text (also where orjson alone would differ), and through the database."""

from __future__ import annotations

import datetime
import json
import math

import pytest

from webapp.json_columns import loads

TEXTS = [
    '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}',
    '{"name": "张三", "note": "line\\nbreak \\u00e9 \\ud83d\\ude00"}',
    '{"a": 1, "a": 2}',
    "[0.1, 1e-07, 1.7976931348623157e308, 5e-324, -0.0, 3]",
    "123456789012345678",  # 18 digits: orjson's int
    "1234567890123456789",  # 19 digits: json's way
    "[18446744073709551615, -9223372036854775808]",
    "123456789012345678901234567890",  # orjson alone would give a float
    '{"id": "1234567890123456789012"}',  # digits in a string: json's way, the same value
    "1e400",
    "[NaN, Infinity, -Infinity]",
    '"\\ud800"',  # a lone surrogate
    ' { "x" : [ ] } ',
]


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
@pytest.mark.parametrize("form", ["str", "bytes", "memoryview"])
def test_a_json_column_reads_what_json_loads_reads(text, form):
    data = {"str": text, "bytes": text.encode(), "memoryview": memoryview(text.encode())}[form]
    assert _same(loads(data), json.loads(text))


@pytest.mark.parametrize("depth", [500, 1100])  # orjson reads 1,024 levels at most
def test_deep_nesting_reads_as_json_reads_it(depth):
    text = "[" * depth + "]" * depth
    try:
        expected = json.loads(text)
    except RecursionError:  # json's own limit under this test's stack: ours fails alike
        with pytest.raises(RecursionError):
            loads(text)
        return
    assert loads(text) == expected


@pytest.mark.parametrize("text", ["{", '{"a": }', "", "[1,]"])
def test_broken_json_fails_as_json_fails(text):
    with pytest.raises(json.JSONDecodeError):
        loads(text)


def test_case_data_round_trips_through_the_database(app):
    from webapp.extensions import db
    from webapp.models import Definition, Instance

    assert db.engine.dialect._json_deserializer is loads
    definition = Definition(key="p", version=1, name="p", files={}, forms={}, meta={}, content_hash="h",
                            deployed_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC))
    db.session.add(definition)
    db.session.flush()
    data = {"big": 2**70, "small": 2**40, "ratio": 0.1, "name": "张三", "nested": {"list": [1, None, True]}}
    instance = Instance(definition_id=definition.id, process_key="p", business_key="b", status="running", snapshot="",
                        data=data, started_at=definition.deployed_at, updated_at=definition.deployed_at)
    db.session.add(instance)
    db.session.flush()
    db.session.expire_all()
    read = db.session.get(Instance, instance.id).data
    assert _same(read, data)
    db.session.rollback()
