"""Comments on a case or a task, and the mentions they send to colleagues' inboxes.

A comment is a passive history event (who, when, the text, the people named with @), so it
is part of the case's record and replays without changing the workflow state.
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..engine import clock, runtime
from ..engine.errors import EngineError, FormInvalid, NotFound
from ..extensions import db
from ..models import HistoryEvent, Mention
from . import bp
from .common import actor_label, display_names, roles, safe_next

READ_ONLY = {"auditor"}


def may_comment() -> bool:
    return bool(roles() - READ_ONLY)


def comments_of(instance_id: int, task_id: str | None = None) -> list[dict]:
    events = db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.type == "comment_added")
        .order_by(HistoryEvent.seq)
    ).all()
    names = display_names()
    listed = []
    for event in events:
        if task_id and event.task_id != task_id:
            continue
        payload = json.loads(event.payload)
        listed.append({"seq": event.seq, "at": clock.from_iso(event.at), "who": actor_label(event.actor, names),
                       "text": payload.get("text", ""), "mentions": payload.get("mentions", []), "task_id": event.task_id})
    return listed


def unseen_mentions() -> list[Mention]:
    return list(db.session.scalars(
        db.select(Mention).where(Mention.username == current_user.username, Mention.seen_at.is_(None))
        .order_by(Mention.at.desc()).limit(50)
    ))


def mark_seen(instance_id: int) -> None:
    """Opening the case reads the mentions of it (a read model, not history)."""
    rows = db.session.scalars(db.select(Mention).where(
        Mention.username == current_user.username, Mention.instance_id == instance_id, Mention.seen_at.is_(None))).all()
    for row in rows:
        row.seen_at = clock.now()
    if rows:
        db.session.commit()


@bp.post("/cases/<int:instance_id>/comments")
@login_required
def add_comment(instance_id: int) -> ResponseReturnValue:
    if not may_comment():
        abort(403)
    task_id = request.form.get("task_id") or None
    try:
        runtime.add_comment(instance_id, request.form.get("text", ""), actor=current_user.username, task_id=task_id)
    except NotFound:
        abort(404)
    except FormInvalid as err:
        db.session.rollback()
        problem = err.errors.get("text", err.message)
        if "unknown user" in problem:
            flash(_("No colleague is called %(names)s. Nothing was saved.", names=problem.split(":", 1)[-1].strip()), "error")
        elif "at most" in problem:
            flash(_("A comment has at most %(num)d characters. Nothing was saved.", num=runtime.COMMENT_MAX_LENGTH), "error")
        else:
            flash(_("Write a comment first."), "error")
        return redirect(safe_next("ui.case", instance_id=instance_id))
    except EngineError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(safe_next("ui.case", instance_id=instance_id))
    flash(_("Comment added."), "success")
    return redirect(safe_next("ui.case", instance_id=instance_id))


def target_url(mention: Mention) -> str:
    return url_for("ui.case", instance_id=mention.instance_id) + f"#comment-{mention.seq}"
