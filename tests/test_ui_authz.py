"""Acceptance 2: every UI route x every role (and anonymous): only the allowed ones succeed;
nobody opens or completes another lane's task by URL; forms without the CSRF token are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.test_ui_support import WebClient, compiled_translations, open_task, signed_in, start_complaint  # noqa: F401
from webapp.accounts import issue_token
from webapp.extensions import db
from webapp.models import ApiToken, InboxTask, Instance, Job, User

ROLES = ["anonymous", "agent", "handler", "manager", "tech", "auditor", "owner", "admin"]
SIGNED_IN = set(ROLES) - {"anonymous"}
MANAGERS = {"manager", "admin"}


@dataclass
class Route:
    method: str
    rule: str  # as in app.url_map, to prove every route is covered
    url: Callable[[dict], str]
    allowed: set[str]
    data: Callable[[dict, str], dict] = field(default=lambda ctx, who: {})
    after: Callable[[dict], None] = field(default=lambda ctx: None)  # undo what an allowed call changed
    before: Callable[[dict], None] = field(default=lambda ctx: None)


def _unclaim(ctx: dict) -> None:
    db.session.expire_all()
    row = db.session.get(InboxTask, ctx["task"])
    row.assignee = None
    db.session.commit()


def _claim_for_handler(ctx: dict) -> None:
    db.session.expire_all()
    row = db.session.get(InboxTask, ctx["task"])
    row.assignee = "handler"
    db.session.commit()


COMPLAINT_FORM = {"customer_name": "赵六", "customer_phone": "13900000000", "channel": "web",
                  "description": "屏幕有坏点，要求换货"}

ROUTES = [
    Route("GET", "/", lambda c: "/", SIGNED_IN),
    Route("GET", "/me", lambda c: "/me", SIGNED_IN),
    Route("POST", "/me", lambda c: "/me", SIGNED_IN, lambda c, who: {"locale": "zh_CN", "timezone": "Asia/Shanghai"}),
    Route("GET", "/new", lambda c: "/new", SIGNED_IN),
    Route("GET", "/new/<key>", lambda c: "/new/complaint_handling", {"agent", "admin"}),
    Route("POST", "/new/<key>", lambda c: "/new/complaint_handling", {"agent", "admin"}, lambda c, who: COMPLAINT_FORM),
    Route("GET", "/cases", lambda c: "/cases?scope=all", SIGNED_IN),
    Route("GET", "/customers", lambda c: "/customers?phone=13800000000", {"agent", "handler", "manager", "auditor", "admin"}),
    Route("GET", "/cases/<int:instance_id>", lambda c: f"/cases/{c['instance']}", SIGNED_IN),
    Route("GET", "/cases/<int:instance_id>/diagram.json", lambda c: f"/cases/{c['instance']}/diagram.json", SIGNED_IN),
    # an empty reason: allowed ones are told to give one, and the case keeps running
    Route("POST", "/cases/<int:instance_id>/cancel", lambda c: f"/cases/{c['instance']}/cancel", MANAGERS,
          lambda c, who: {"reason": ""}),
    # the job is done, not an incident: allowed ones are told so
    Route("POST", "/jobs/<int:job_id>/retry", lambda c: f"/jobs/{c['job']}/retry", MANAGERS),
    Route("POST", "/jobs/<int:job_id>/skip", lambda c: f"/jobs/{c['job']}/skip", MANAGERS, lambda c, who: {"result": "{}"}),
    Route("GET", "/incidents", lambda c: "/incidents", MANAGERS),
    # another lane's task: neither opened nor completed by URL
    Route("GET", "/tasks/<task_id>", lambda c: f"/tasks/{c['task']}", {"handler", "admin"}),
    Route("POST", "/tasks/<task_id>", lambda c: f"/tasks/{c['task']}", {"handler", "admin"},
          lambda c, who: {"category": "parts"}),  # incomplete on purpose: allowed ones get 422, the task stays open
    Route("POST", "/tasks/<task_id>/claim", lambda c: f"/tasks/{c['task']}/claim", {"handler", "admin"},
          lambda c, who: {"next": "/"}, _unclaim),
    Route("POST", "/tasks/<task_id>/release", lambda c: f"/tasks/{c['task']}/release", {"handler", "manager", "admin"},
          lambda c, who: {"next": "/"}, _claim_for_handler, _claim_for_handler),
    Route("POST", "/tasks/<task_id>/assign", lambda c: f"/tasks/{c['task']}/assign", MANAGERS,
          lambda c, who: {"username": "handler", "next": "/"}, _unclaim),
    Route("POST", "/tasks/<task_id>/draft", lambda c: f"/tasks/{c['task']}/draft", {"handler", "admin"},
          lambda c, who: {"category": "parts"}),
    # a file of the case: whoever may see the case (a file of no case yet: its uploader only)
    Route("POST", "/attachments", lambda c: "/attachments", SIGNED_IN - {"auditor"}),  # no file: 422; auditors 403
    Route("GET", "/attachments/<attachment_id>", lambda c: f"/attachments/{c['attachment']}", SIGNED_IN),
    Route("GET", "/attachments/<attachment_id>/thumbnail", lambda c: f"/attachments/{c['attachment']}/thumbnail", SIGNED_IN),
    # comments: everyone who works on cases (an empty one is refused with a message); auditors read
    Route("POST", "/cases/<int:instance_id>/comments", lambda c: f"/cases/{c['instance']}/comments", SIGNED_IN - {"auditor"},
          lambda c, who: {"text": ""}),
    Route("GET", "/inbox/state.json", lambda c: "/inbox/state.json", SIGNED_IN),
    Route("POST", "/inbox/filters", lambda c: "/inbox/filters", SIGNED_IN, lambda c, who: {"name": "急", "q": "TS"}),
    # a saved filter: only its owner removes it
    Route("POST", "/inbox/filters/<int:filter_id>/delete", lambda c: f"/inbox/filters/{c['filter']}/delete", {"handler"},
          after=lambda c: c.update(filter=_handlers_filter())),
    Route("POST", "/tasks/<task_id>/follow-up", lambda c: f"/tasks/{c['task']}/follow-up", {"handler", "admin"},
          lambda c, who: {"on": "2026-03-09"}),
    Route("GET", "/cases/<int:instance_id>/state.json", lambda c: f"/cases/{c['instance']}/state.json", SIGNED_IN),
    Route("GET", "/admin/users", lambda c: "/admin/users", MANAGERS),
    Route("GET", "/admin/webhooks", lambda c: "/admin/webhooks", {"admin"}),
    Route("GET", "/admin/users/new", lambda c: "/admin/users/new", MANAGERS),
    Route("POST", "/admin/users/new", lambda c: "/admin/users/new", MANAGERS,
          lambda c, who: {"username": f"new-{who}", "password": "long-enough", "roles": ["technician"]}),
    Route("GET", "/admin/users/<int:user_id>", lambda c: f"/admin/users/{c['tech']}", MANAGERS),
    Route("POST", "/admin/users/<int:user_id>", lambda c: f"/admin/users/{c['tech']}", MANAGERS,
          lambda c, who: {"roles": ["technician"], "active": "on", "display_name": "维修人员"}),
    # an administrator's account: administrators only
    Route("GET", "/admin/users/<int:user_id>", lambda c: f"/admin/users/{c['admin']}", {"admin"}),
    # API tokens: everyone makes their own; only the owner (settings) or an administrator revokes one
    Route("POST", "/me/tokens", lambda c: "/me/tokens", SIGNED_IN, lambda c, who: {"name": f"script of {who}", "days": "30"}),
    Route("POST", "/me/tokens/<int:token_id>/revoke", lambda c: f"/me/tokens/{c['own_token']}/revoke", {"handler"}),
    Route("POST", "/admin/users/<int:user_id>/tokens/<int:token_id>/revoke",
          lambda c: f"/admin/users/{c['handler']}/tokens/{c['other_token']}/revoke", {"admin"}),
]
# Open to everyone, signed in or not (sign-in itself, the language switch, sign-out).
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/lang/<code>"), ("POST", "/logout")}


@pytest.fixture
def world(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    clients = {"anonymous": WebClient(app)}
    clients["anonymous"].get("/login")
    for username in SIGNED_IN:
        clients[username] = signed_in(app, username)
    ids = {u.username: u.id for u in db.session.scalars(db.select(User))}
    task = open_task(instance.id, "verify_complaint")
    job = db.session.scalar(db.select(Job.id).where(Job.instance_id == instance.id))
    handler = db.session.get(User, ids["handler"])
    tokens = {}
    for name in ("own", "other"):
        issue_token(handler, name)
        tokens[name] = db.session.scalar(db.select(ApiToken.id).where(ApiToken.name == name))
    ctx = {"instance": instance.id, "task": task.id, "tech": ids["tech"], "admin": ids["admin"], "job": job,
           "handler": ids["handler"], "own_token": tokens["own"], "other_token": tokens["other"],
           "attachment": _case_photo(instance.id), "filter": _handlers_filter()}
    return clients, ctx


def _handlers_filter() -> int:
    from webapp.models import SavedFilter

    row = SavedFilter(username="handler", name="急件", query={"q": "TS"})
    db.session.add(row)
    db.session.commit()
    return row.id


def _case_photo(instance_id: int) -> str:
    import io

    from PIL import Image

    from webapp.engine import attachments

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "PNG")
    row = attachments.store(out.getvalue(), "photo.png", actor="handler").attachment
    row.instance_id = instance_id
    db.session.commit()
    return row.id


def test_every_ui_route_is_in_the_matrix(app):
    ui_routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("ui.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(r.method, r.rule) for r in ROUTES} | PUBLIC
    assert ui_routes == covered


def _outcome(response, who: str) -> str:
    if response.status_code == 403:
        return "denied"
    if who == "anonymous" and response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return "denied"
    assert response.status_code in (200, 302, 422), (who, response.status_code)
    return "ok"


def test_only_the_allowed_roles_get_through(world):
    clients, ctx = world
    wrong = []
    for route in ROUTES:
        route.before(ctx)
        # Denied roles first: they must change nothing for the allowed ones that follow.
        for who in sorted(ROLES, key=lambda w: w in route.allowed):
            url = route.url(ctx)
            response = clients[who].get(url) if route.method == "GET" else clients[who].post(url, route.data(ctx, who))
            expected = "ok" if who in route.allowed else "denied"
            if _outcome(response, who) != expected:
                wrong.append((route.method, url, who, response.status_code))
            if expected == "ok":
                route.after(ctx)
    assert wrong == []
    db.session.expire_all()
    assert db.session.get(Instance, ctx["instance"]).status == "running"


def test_no_one_completes_another_lanes_task_by_url(world):
    clients, ctx = world
    valid = {"category": "parts", "severity": "normal", "verified": "true", "reply_to_customer": "已答复"}
    for who in ("agent", "manager", "tech", "auditor", "owner"):
        assert clients[who].post(f"/tasks/{ctx['task']}", valid).status_code == 403, who
        assert clients[who].post(f"/tasks/{ctx['task']}", {**valid, "_action": "draft"}).status_code == 403, who
    db.session.expire_all()
    row = db.session.get(InboxTask, ctx["task"])
    assert row.state == "open" and row.draft is None and row.assignee is None
    assert clients["handler"].post(f"/tasks/{ctx['task']}", valid).status_code == 302


def test_forms_without_the_csrf_token_are_refused(world):
    clients, ctx = world
    admin = clients["admin"]
    posts = [r for r in ROUTES if r.method == "POST"] + [Route("POST", "/logout", lambda c: "/logout", SIGNED_IN)]
    for route in posts:
        response = admin.post(route.url(ctx), route.data(ctx, "admin"), csrf=False)
        assert response.status_code == 400, route.rule
        response = admin.post(route.url(ctx), {**route.data(ctx, "admin"), "csrf_token": "not-the-token"}, csrf=False)
        assert response.status_code == 400, route.rule
    assert clients["anonymous"].post("/login", {"username": "admin", "password": "pw-admin"}, csrf=False).status_code == 400
    db.session.expire_all()
    row = db.session.get(InboxTask, ctx["task"])
    assert row.state == "open" and row.assignee is None
    assert db.session.scalar(db.select(User).where(User.username == "new-admin")) is None
