"""Sign-in, lock-out after repeated failures, sign-out, cookies, CSRF and the language switch."""

from __future__ import annotations

import re
from datetime import timedelta

from werkzeug.security import check_password_hash

from tests.test_ui_support import WebClient, compiled_translations, signed_in, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import LoginThrottle, User


def _user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == username))


def test_anonymous_is_sent_to_sign_in(app, users):
    client = WebClient(app)
    r = client.get("/cases?scope=all")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    page = text_of(client.get("/login"))
    assert '<html lang="zh-CN">' in page and "登录" in page and '<label for="username">用户名</label>' in page


def test_sign_in_and_out(app, users):
    client = WebClient(app)
    r = client.login("handler")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "待办" in text_of(client.get("/"))
    r = client.post("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_next_is_followed_only_within_the_site(app, users):
    client = WebClient(app)
    client.get("/login")
    r = client.post("/login?next=/cases%3Fscope%3Dall", {"username": "agent", "password": "pw-agent"})
    assert r.headers["Location"] == "/cases?scope=all"
    other = WebClient(app)
    other.get("/login")
    r = other.post("/login?next=https://evil.example/", {"username": "agent", "password": "pw-agent"})
    assert r.headers["Location"] == "/"
    other.get("/")
    r = other.post("/logout", {"next": "//evil.example/"})
    assert r.headers["Location"] == "/login"


def test_wrong_password_and_unknown_user_look_the_same(app, users):
    client = WebClient(app)
    client.get("/login")
    wrong = client.post("/login", {"username": "agent", "password": "nope"})
    unknown = client.post("/login", {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误。" in text_of(wrong) and "用户名或密码错误。" in text_of(unknown)
    assert 'value="agent"' in text_of(wrong)  # the username typed is kept


def _throttle(username: str, address: str = "127.0.0.1") -> LoginThrottle | None:
    db.session.expire_all()
    return db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.username == username,
                                                            LoginThrottle.address == address))


def test_lock_out_after_repeated_failures(app, users, manual_clock):
    limit, lock = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_LOCK_SECONDS"]
    client = WebClient(app)
    client.get("/login")
    for attempt in range(1, limit):
        assert client.post("/login", {"username": "agent", "password": "bad"}).status_code == 401
        assert _throttle("agent").failures == attempt
    r = client.post("/login", {"username": "agent", "password": "bad"})
    until = manual_clock.now() + timedelta(seconds=lock)
    # the page says for how long and until when, in the person's local time (China time by default)
    assert r.status_code == 423 and "2026-03-02 09:05:00" in text_of(r) and "此地址" in text_of(r)
    assert lock == 300 and re.search(r"锁定 5\s?分钟", text_of(r)), text_of(r)
    assert _throttle("agent").locked_until == until
    # even the right password is refused while locked
    r = client.post("/login", {"username": "agent", "password": "pw-agent"})
    assert r.status_code == 423
    manual_clock.advance(seconds=lock - 1)
    assert client.post("/login", {"username": "agent", "password": "pw-agent"}).status_code == 423
    manual_clock.advance(seconds=2)
    r = client.post("/login", {"username": "agent", "password": "pw-agent"})
    assert r.status_code == 302
    assert _throttle("agent") is None  # a good sign-in forgets the address's failures


def test_a_deactivated_account_cannot_sign_in_and_loses_its_session(app, users):
    client = signed_in(app, "tech")
    user = _user("tech")
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302  # the open session ends at the next request
    again = WebClient(app)
    again.get("/login")
    r = again.post("/login", {"username": "tech", "password": "pw-tech"})
    assert r.status_code == 401 and "此账户已停用" in text_of(r)


def test_forms_without_csrf_token_are_refused(app, users):
    client = WebClient(app)
    r = client.post("/login", {"username": "agent", "password": "pw-agent"}, csrf=False)
    assert r.status_code == 400 and "表单已失效" in text_of(r)
    client = signed_in(app, "agent")
    r = client.post("/logout", csrf=False)
    assert r.status_code == 400
    r = client.post("/logout", {"csrf_token": "forged"}, csrf=False)
    assert r.status_code == 400


def test_the_api_is_not_subject_to_csrf(users):
    r = users["agent"].get("/api/tasks")
    assert r.status_code == 200
    r = users["agent"].post("/api/process-instances", {"process_key": "nope", "data": {}})
    assert r.status_code == 404 and r.get_json()["error"]


def test_language_switch_is_one_click_and_remembered(app, users):
    client = signed_in(app, "handler")
    page = text_of(client.get("/"))
    assert "<h1>待办</h1>" in page
    assert 'href="/lang/en?next=/?"' in page or 'href="/lang/en?next=/%3F"' in page
    r = client.get("/lang/en?next=/cases")
    assert r.status_code == 302 and r.headers["Location"] == "/cases"
    assert "lang=en" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert "<h1>My cases</h1>" in text_of(client.get("/cases"))
    assert _user("handler").locale == "en"
    # a new session of the same person starts in English
    fresh = signed_in(app, "handler")
    fresh.client.delete_cookie("lang")
    assert "<h1>Inbox</h1>" in text_of(fresh.get("/"))
    client.get("/lang/zh_CN")
    assert "<h1>我的工单</h1>" in text_of(client.get("/cases"))
    # the sign-in page too
    anonymous = WebClient(app)
    anonymous.get("/lang/en?next=/login")
    assert "<h1>Sign in</h1>" in text_of(anonymous.get("/login"))
    assert anonymous.get("/lang/xx?next=/login").status_code == 302


def test_own_settings_time_zone_and_password(app, users, deployed_complaints, run_worker):
    from tests.test_ui_support import start_complaint

    instance = start_complaint(run_worker)
    client = signed_in(app, "agent")
    page = text_of(client.get(f"/cases/{instance.id}"))
    assert "2026-03-02 09:00" in page  # the manual clock's 01:00 UTC, shown in Asia/Shanghai
    r = client.post("/me", {"locale": "zh_CN", "timezone": "Europe/Berlin"})
    assert r.status_code == 302
    assert "2026-03-02 02:00" in text_of(client.get(f"/cases/{instance.id}"))
    berlin = {"locale": "zh_CN", "timezone": "Europe/Berlin"}
    r = client.post("/me", {**berlin, "current_password": "wrong", "new_password": "long-enough"})
    assert r.status_code == 422 and "当前密码不正确" in text_of(r)
    r = client.post("/me", {**berlin, "current_password": "pw-agent", "new_password": "long-enough"})
    assert r.status_code == 302
    assert check_password_hash(_user("agent").password_hash, "long-enough")
    assert _user("agent").password_hash.startswith("scrypt:")
