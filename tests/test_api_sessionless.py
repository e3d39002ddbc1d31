"""API calls with a bearer token open no cookie session (webapp/security/sessions.py): no
cookie is set on their answers; a browser's session cookie sent to /api/ is still read and
kept, so signing in stays signed in."""

from __future__ import annotations

from tests.test_ui_support import signed_in, text_of


def test_a_bearer_token_call_sets_no_cookie(users):
    answer = users["admin"].get("/api/tasks")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    refused = users["admin"].client.get("/api/tasks", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers


def test_a_signed_in_browser_calling_the_api_stays_signed_in(app, users):
    browser = signed_in(app, "handler")
    page = browser.get("/")
    assert page.status_code == 200
    assert browser.get("/api/tasks").status_code == 401  # the API wants a token, not the cookie
    again = browser.get("/")
    assert again.status_code == 200 and "handler" in text_of(again)
