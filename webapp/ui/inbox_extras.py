"""A person's own inbox helpers: saved filters (named inbox searches) and follow-up dates on
tasks (their own reminder, not a deadline of the process)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..models import InboxTask, SavedFilter, TaskFollowUp
from . import bp
from .common import in_my_lanes, safe_next

FILTER_KEYS = ("q", "process", "show", "scope")


def saved_filters() -> list[SavedFilter]:
    return list(db.session.scalars(
        db.select(SavedFilter).where(SavedFilter.username == current_user.username).order_by(SavedFilter.name)))


def filter_url(row: SavedFilter) -> str:
    return url_for("ui.inbox", **{k: v for k, v in (row.query or {}).items() if k in FILTER_KEYS and v})


def follow_ups(task_ids: list[str]) -> dict[str, date]:
    if not task_ids:
        return {}
    rows = db.session.scalars(db.select(TaskFollowUp).where(
        TaskFollowUp.username == current_user.username, TaskFollowUp.task_id.in_(task_ids)))
    return {r.task_id: r.on for r in rows}


@bp.post("/inbox/filters")
@login_required
def save_filter() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    query = {k: request.form.get(k, "") for k in FILTER_KEYS if request.form.get(k)}
    if not name or len(name) > 100:
        flash(_("Give the filter a name (at most 100 characters)."), "error")
        return redirect(url_for("ui.inbox", **query))
    existing = db.session.scalar(db.select(SavedFilter).where(
        SavedFilter.username == current_user.username, SavedFilter.name == name))
    if existing is None:
        db.session.add(SavedFilter(username=current_user.username, name=name, query=query))
    else:
        existing.query = query
    db.session.commit()
    flash(_("Filter “%(name)s” saved.", name=name), "success")
    return redirect(url_for("ui.inbox", **query))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int) -> ResponseReturnValue:
    row = db.session.get(SavedFilter, filter_id)
    if row is None:
        abort(404)
    if row.username != current_user.username:
        abort(403)
    db.session.delete(row)
    db.session.commit()
    flash(_("Filter removed."), "success")
    return redirect(url_for("ui.inbox"))


@bp.post("/tasks/<task_id>/follow-up")
@login_required
def set_follow_up(task_id: str) -> ResponseReturnValue:
    row = db.session.get(InboxTask, task_id)
    if row is None:
        abort(404)
    if not in_my_lanes(row):
        abort(403)
    text = request.form.get("on", "").strip()
    current = db.session.get(TaskFollowUp, (task_id, current_user.username))
    if not text:
        if current is not None:
            db.session.delete(current)
            db.session.commit()
        flash(_("Follow-up date removed."), "success")
        return redirect(safe_next("ui.task", task_id=task_id))
    try:
        on = date.fromisoformat(text)
    except ValueError:
        flash(_("Enter a date (year-month-day)."), "error")
        return redirect(safe_next("ui.task", task_id=task_id))
    if current is None:
        db.session.add(TaskFollowUp(task_id=task_id, username=current_user.username, on=on))
    else:
        current.on = on
    db.session.commit()
    flash(_("You will see this task marked for follow-up on %(day)s.", day=on.isoformat()), "success")
    return redirect(safe_next("ui.task", task_id=task_id))
