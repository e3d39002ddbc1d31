"""What the pages poll to update themselves: the inbox (a new task arrives, the count in the
menu) and a case page (the next step happened). Small JSON answers; polling keeps the server
free of open connections, which matters with one synchronous process per request."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func

from ..extensions import db
from ..models import InboxTask, Instance, Mention
from ..models.engine import IS_OPEN
from . import bp
from .common import may_work_on, roles
from .inbox import open_tasks_query

POLL_LIMIT = 200


def inbox_count() -> int:
    if not current_user.is_authenticated:
        return 0
    query = open_tasks_query("mine").with_only_columns(func.count()).order_by(None)
    return int(db.session.scalar(query) or 0)


def may_start_any() -> bool:
    """Whether 新建 leads anywhere for this person (auditors start nothing: no menu entry)."""
    from .cases import _latest_definitions
    from .common import may_start

    return current_user.is_authenticated and any(may_start(d) for d in _latest_definitions())


def favicon() -> ResponseReturnValue:
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        inbox_count=inbox_count, may_start_any=may_start_any,
        live_poll_seconds=lambda: current_app.config.get("LIVE_POLL_SECONDS", 10))
    app.add_url_rule("/favicon.ico", "favicon", favicon)


@bp.get("/inbox/state.json")
@login_required
def inbox_state() -> ResponseReturnValue:
    ids = list(db.session.scalars(
        open_tasks_query("mine").with_only_columns(InboxTask.id).order_by(InboxTask.created_at.desc()).limit(POLL_LIMIT)))
    mentions = db.session.scalar(db.select(func.count()).select_from(Mention).where(
        Mention.username == current_user.username, Mention.seen_at.is_(None)))
    return jsonify({"count": inbox_count(), "tasks": sorted(ids), "mentions": int(mentions or 0)})


@bp.get("/cases/<int:instance_id>/state.json")
@login_required
def case_state(instance_id: int) -> ResponseReturnValue:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        return jsonify({"error": "not found"}), 404
    rows = db.session.scalars(db.select(InboxTask).where(
        InboxTask.instance_id == instance_id, IS_OPEN).order_by(InboxTask.created_at)).all()
    mine = next((r for r in rows if may_work_on(r) and (r.role in roles() or r.assignee == current_user.username)), None)
    return jsonify({"seq": instance.last_seq, "status": instance.status,
                    "my_task": url_for("ui.task", task_id=mine.id) if mine else None})
