"""Case data as people read it: lines of objects as tables (no JSON), long text folded behind
展开, text over a limit refused with a message and never cut."""

from __future__ import annotations

import re

from tests.test_ui_support import COMPLAINT, signed_in, start_complaint, text_of
from webapp.forms_render import Table, table_value


def test_lines_of_objects_are_a_table():
    prop = {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string", "title": "名称"}, "qty": {"type": "integer", "title": "数量"}}}}
    table = table_value(prop, [{"name": "点火线圈", "qty": 2}, {"name": "火花塞", "qty": 4}], None, "是", "否")
    assert table == Table(["名称", "数量"], [["点火线圈", "2"], ["火花塞", "4"]])
    assert table_value(prop, "text", None, "是", "否") is None


def test_long_text_is_folded_and_too_long_text_is_refused_not_cut(app, users, deployed_complaints, run_worker):
    long_text = "空调不制冷。" * 60
    instance = start_complaint(run_worker, {**COMPLAINT, "description": long_text})
    page = text_of(signed_in(app, "agent").get(f"/cases/{instance.id}"))
    folded = re.search(r'<dd translate="no" data-key="description">(.*?)</dd>', page, re.S).group(1)
    assert "<details" in folded and "展开" in folded and long_text in folded
    agent = signed_in(app, "agent")
    too_long = "长" * 5001
    r = agent.post("/new/complaint_handling", {**COMPLAINT, "description": too_long})
    assert r.status_code == 422
    body = text_of(r)
    assert too_long in body  # kept in the form as typed, not cut
    assert 'maxlength=' not in body
    assert re.search(r'id="f-description-error"[^>]*>[^<]*5000', body)
