"""Comments are passive history events (the case still replays), mentions reach the named
colleague's inbox, over-long text is refused with a message and nothing stored."""

from __future__ import annotations

from tests.test_ui_support import signed_in, start_complaint, text_of
from webapp.engine import replay
from webapp.extensions import db
from webapp.models import HistoryEvent, Mention


def test_a_comment_with_a_mention_is_history_and_reaches_the_inbox(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    agent = signed_in(app, "agent")
    r = agent.post(f"/cases/{instance.id}/comments", {"text": "@handler 客户又来电催促了", "next": f"/cases/{instance.id}"})
    assert r.status_code == 302
    event = db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.type == "comment_added")).one()
    assert (event.actor, event.instance_id) == ("agent", instance.id)
    assert replay.verify(instance.id)["verified"] is True
    handler = signed_in(app, "handler")
    page = text_of(handler.get("/"))
    assert "同事提到了您" in page and "客户又来电催促了" in page
    assert handler.get("/inbox/state.json").get_json()["mentions"] == 1
    assert "客户又来电催促了" in text_of(handler.get(f"/cases/{instance.id}"))
    assert handler.get("/inbox/state.json").get_json()["mentions"] == 0
    assert db.session.scalars(db.select(Mention)).one().seen_at is not None


def test_bad_comments_are_refused_and_nothing_is_stored(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    agent = signed_in(app, "agent")
    for text, message in (("x" * 2001, "备注最多 2000 个字"), ("@nobody 你好", "没有名为 nobody 的同事"), ("  ", "请先填写备注")):
        r = agent.post(f"/cases/{instance.id}/comments", {"text": text})
        assert r.status_code == 302
        assert message in text_of(agent.get(f"/cases/{instance.id}"))
    assert db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.type == "comment_added")).all() == []
    assert signed_in(app, "auditor").post(f"/cases/{instance.id}/comments", {"text": "看看"}).status_code == 403
