"""Inbox 待办: the open tasks a person may work on; claim, release, and (managers) assign."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from ..engine import clock, runtime
from ..engine.errors import EngineError, NotFound
from ..extensions import db
from ..models import Definition, InboxTask, Instance, User
from ..models.engine import IS_OPEN
from . import bp
from .comments import target_url, unseen_mentions
from .common import display_names, in_my_lanes, is_admin, is_manager, manager_required, may_work_on, role_name, roles, safe_next
from .i18n import user_zone
from .inbox_extras import filter_url, follow_ups, saved_filters

INBOX_LIMIT = 100  # the earliest due first; search narrows the rest
_FAR = datetime.max.replace(tzinfo=UTC)


def matching_instances(q: str, process: str = "") -> Select:
    """Ids of the cases whose number or customer contains q: a subquery, so PostgreSQL finds
    them by the trigram indexes before it looks at tasks."""
    query = db.select(Instance.id)
    if q:
        like = f"%{q}%"
        query = query.where(db.or_(Instance.business_key.ilike(like), Instance.customer_name.ilike(like)))
    if process:
        query = query.where(Instance.process_key == process)
    return query


def open_tasks_query(scope: str = "mine") -> Select:
    """Open tasks in the person's lanes or assigned to them; managers may look at every lane."""
    query = db.select(InboxTask).options(selectinload(InboxTask.instance)).where(IS_OPEN)
    if scope == "team" and is_manager():
        return query
    if not is_admin():
        me = current_user.username
        query = query.where(
            db.or_(
                InboxTask.assignee == me,
                db.and_(InboxTask.role.in_(roles()), db.or_(InboxTask.assignee.is_(None), InboxTask.assignee == me)),
            )
        )
    return query


def overdue_first(tasks: list[InboxTask]) -> list[InboxTask]:
    now = clock.now()
    return sorted(tasks, key=lambda t: (not (t.due_at and t.due_at < now), t.due_at or _FAR, t.created_at))


def candidates_by_role() -> dict[str, list[User]]:
    """Active people per role, for the assign menus (administrators can take any task)."""
    people: dict[str, list[User]] = {}
    users = db.session.scalars(db.select(User).where(User.active.is_(True)).order_by(User.username)).all()
    for user in users:
        for code in user.role_codes:
            people.setdefault(code, []).append(user)
    people["admin"] = [u for u in users if "admin" in u.role_codes]
    return people


def assignable(task: InboxTask, people: dict[str, list[User]]) -> list[User]:
    chosen = {u.username: u for u in people.get(task.role or "", [])}
    for admin in people.get("admin", []):
        chosen.setdefault(admin.username, admin)
    return sorted(chosen.values(), key=lambda u: u.username)


@bp.get("/")
@login_required
def inbox() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    process = request.args.get("process", "")
    show = request.args.get("show", "all")
    scope = request.args.get("scope", "mine") if is_manager() else "mine"
    query = open_tasks_query(scope)
    if q or process:
        query = query.where(InboxTask.instance_id.in_(matching_instances(q, process)))
    if show == "claimed":
        query = query.where(InboxTask.assignee == current_user.username)
    elif show == "unclaimed":
        query = query.where(InboxTask.assignee.is_(None))
    # Earliest due first in SQL, so the limit keeps the overdue ones (ix_inbox_open_by_role_due).
    ordered = query.order_by(InboxTask.due_at.asc().nulls_last(), InboxTask.created_at)
    tasks = overdue_first(db.session.scalars(ordered.limit(INBOX_LIMIT)).all())
    processes = db.session.execute(db.select(Definition.key, Definition.name).distinct().order_by(Definition.key)).all()
    people = candidates_by_role() if is_manager() else {}
    return render_template(
        "inbox.html",
        tasks=tasks,
        q=q,
        process=process,
        show=show,
        scope=scope,
        processes=dict(processes),
        people=people,
        assignable=assignable,
        may_work_on=may_work_on,
        role_name=role_name,
        names=display_names(),
        now=clock.now(),
        mentions=unseen_mentions(),
        mention_url=target_url,
        saved=saved_filters(),
        filter_url=filter_url,
        follow_up=follow_ups([t.id for t in tasks]),
        today=clock.now().astimezone(user_zone()).date(),
    )


def _task_or_404(task_id: str) -> InboxTask:
    row = db.session.get(InboxTask, task_id)
    if row is None:
        abort(404)
    return row


def _run(action, success: str) -> None:
    try:
        action()
        flash(success, "success")
    except NotFound:
        abort(404)
    except EngineError as err:
        db.session.rollback()
        if err.status == 403:
            abort(403)
        flash(engine_message(err), "error")


def engine_message(err: EngineError) -> str:
    """The engine speaks to API clients; staff get a sentence in their language."""
    if err.status == 409 and "assignee" in err.errors:
        return _("This task has been claimed by %(name)s. Only they (or a manager) can release it.",
                 name=display_names().get(err.errors["assignee"], err.errors["assignee"]))
    if err.status == 409 and "task" in err.errors:
        return _("This task has already been completed or cancelled.")
    if err.status == 409:
        return _("The case was changed by someone else at the same moment. Please reload and try again.")
    if err.status == 403:
        return _("You may not work on this task.")
    return err.message


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    row = _task_or_404(task_id)
    if not in_my_lanes(row):
        abort(403)
    _run(lambda: runtime.claim_task(task_id, actor=current_user.username, roles=roles()), _("You claimed the task."))
    return redirect(safe_next())


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> ResponseReturnValue:
    row = _task_or_404(task_id)
    if row.assignee != current_user.username and not is_manager():
        abort(403)
    _run(lambda: runtime.release_task(task_id, actor=current_user.username, roles=roles()), _("The task is free again."))
    return redirect(safe_next())


@bp.post("/tasks/<task_id>/assign")
@login_required
@manager_required
def assign(task_id: str) -> ResponseReturnValue:
    _task_or_404(task_id)
    username = request.form.get("username", "")
    user = db.session.scalar(db.select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        flash(_("Choose a person to assign the task to."), "error")
        return redirect(safe_next())
    try:
        runtime.assign_task(task_id, user.username, actor=current_user.username, assignee_roles=user.role_codes)
        flash(_("The task was assigned to %(name)s.", name=user.display_name or user.username), "success")
    except EngineError as err:
        db.session.rollback()
        if err.status == 422:
            flash(_("%(name)s does not hold the role of this task.", name=user.display_name or user.username), "error")
        else:
            flash(engine_message(err), "error")
    return redirect(safe_next())
