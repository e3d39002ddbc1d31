"""What several views share: who is signed in, what they may do, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Definition, InboxTask, Role, User
from .i18n import is_english

MANAGER = "after_sales_manager"


def load_user(user_id: str) -> User | None:
    from ..security import sessions

    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    # A deactivated account, or a session from before sign-out or a password or role change,
    # is anonymous from its next request on.
    return user if user is not None and user.active and sessions.is_current(user) else None


def roles() -> set[str]:
    return current_user.role_codes if current_user.is_authenticated else set()


def is_admin() -> bool:
    return "admin" in roles()


def is_manager() -> bool:
    return MANAGER in roles() or is_admin()


def manager_required(view: Callable) -> Callable:
    """Account management and assigning work: after-sales managers and administrators."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_manager():
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def may_start(definition: Definition) -> bool:
    start_role = definition.meta.get("start_role")
    return bool(definition.meta.get("start_form")) and (not start_role or start_role in roles() or is_admin())


def may_work_on(row: InboxTask) -> bool:
    """The task is in one of the person's lanes (or given to them) and nobody else holds it."""
    if is_admin():
        return True
    if row.assignee and row.assignee != current_user.username:
        return False
    return row.role in roles() or row.assignee == current_user.username or not row.role


def in_my_lanes(row: InboxTask) -> bool:
    return is_admin() or row.role in roles() or row.assignee == current_user.username or not row.role


def safe_next(default_endpoint: str = "ui.inbox", **values) -> str:
    """Where to go after an action: the `next` the page sent, if it stays on this site."""
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc and "\\" not in target:
        return target
    return url_for(default_endpoint, **values)


def role_name(code: str | None) -> str:
    if not code:
        return ""
    role = db.session.get(Role, code)
    if role is None:
        return code
    return role.name_en if is_english() else role.name_zh


def all_roles() -> list[Role]:
    from ..accounts import ROLES, ensure_roles

    ensure_roles()
    order = {code: i for i, (code, _zh, _en) in enumerate(ROLES)}
    return sorted(db.session.scalars(db.select(Role)), key=lambda r: order.get(r.code, 999))


def display_names() -> dict[str, str]:
    return {u.username: (u.display_name or u.username) for u in db.session.scalars(db.select(User))}


def actor_label(actor: str, names: dict[str, str]) -> str:
    if actor.startswith("worker:") or actor == "system":
        return _("System")
    if actor == "scheduler":
        return _("Timer")
    if actor == "cli":
        return _("Command line")
    return names.get(actor, actor)


def event_labels() -> dict[str, str]:
    """What each kind of history event is called on the case page, the replay and the report."""
    return {
        "instance_started": _("Case registered"),
        "task_completed": _("Task completed"),
        "service_completed": _("System step done"),
        "service_failed": _("System step failed; it will be retried"),
        "incident_raised": _("System step failed and needs attention"),
        "incident_retried": _("System step retried"),
        "incident_skipped": _("System step skipped by a manager"),
        "instance_migrated": _("Case moved to a newer process version"),
        "timer_fired": _("Deadline timer checked"),
        "message_received": _("Message received"),
        "instance_cancelled": _("Case cancelled"),
        "task_claimed": _("Task claimed"),
        "task_released": _("Task released"),
        "task_assigned": _("Task assigned"),
        "comment_added": _("Comment"),
    }
