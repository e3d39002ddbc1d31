"""Helpers for the UI tests (no tests here): browser-like clients that sign in through the
login form and send the CSRF token the pages render, and a started complaint."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import g, has_app_context

from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import InboxTask
from webapp.ui.i18n import compile_catalogs

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

COMPLAINT = {
    "customer_name": "张伟",
    "customer_phone": "138 0000 0000",
    "channel": "phone",
    "description": "空调不制冷，已经维修过两次",
}


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """What `make translations` does, for runs of pytest without make."""
    compile_catalogs()


class WebClient:
    """A Flask test client that behaves like a browser: it keeps the cookie and finds the
    CSRF token in the pages it gets."""

    def __init__(self, app, username: str | None = None) -> None:
        self.client = app.test_client()
        self.username = username
        self.token = ""

    def _remember(self, response):
        if not (response.mimetype or "").startswith("text/"):
            return response  # a file (an attachment, an export): no form in it
        match = CSRF.search(response.get_data(as_text=True))
        if match:
            self.token = unescape(match.group(1))
        return response

    def get(self, url: str, **kw):
        _fresh_g()
        return self._remember(self.client.get(url, **kw))

    def post(self, url: str, data: dict | list | None = None, *, csrf: bool = True, **kw):
        if csrf and not self.token:
            self.get("/login")
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields = [(k, item) for k, v in fields for item in (v if isinstance(v, list) else [v])]
        if csrf:
            fields.append(("csrf_token", self.token))
        _fresh_g()
        return self._remember(self.client.post(url, data=_multidict(fields), **kw))

    def login(self, username: str, password: str | None = None):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password or f"pw-{username}"})
        if response.status_code == 302:
            self.get("/")  # like a browser following the redirect: the session has a new CSRF token
        return response


def _fresh_g() -> None:
    """The `app` fixture keeps one app context open, so every request would share its `g`:
    Flask-Login's user, Flask-WTF's token and Flask-Babel's locale would leak from one
    request (and one client) to the next. A real server starts every request with an empty g."""
    if has_app_context():
        for key in list(vars(g)):
            g.pop(key)


def _multidict(fields: list[tuple[str, object]]):
    from werkzeug.datastructures import MultiDict

    return MultiDict([(k, v) for k, v in fields])


def text_of(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, username: str) -> WebClient:
    client = WebClient(app, username)
    response = client.login(username)
    assert response.status_code == 302, text_of(response)
    return client


def start_complaint(run_worker, data: dict | None = None, actor: str = "agent"):
    instance = runtime.start_instance("complaint_handling", {**COMPLAINT, **(data or {})}, actor=actor)
    run_worker()
    db.session.expire_all()
    return instance


def open_task(instance_id: int, bpmn_id: str) -> InboxTask:
    db.session.expire_all()
    row = db.session.scalar(
        db.select(InboxTask).where(InboxTask.instance_id == instance_id, InboxTask.bpmn_id == bpmn_id, InboxTask.state == "open")
    )
    assert row is not None, f"no open {bpmn_id}"
    return row
