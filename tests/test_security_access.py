"""Issue 11, part A: the breaks the attacker found, reproduced as they did them, now fail.
Sessions end on the server; only administrators hand out the powerful roles; API tokens
expire and die; a lock-out from one address does not lock the owner out of theirs; the
per-address rate limits (issue 19)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

from werkzeug.security import check_password_hash

from tests.conftest import ApiClient, app_settings
from tests.test_ui_support import WebClient, compiled_translations, signed_in, text_of  # noqa: F401
from webapp import create_app
from webapp.accounts import issue_token
from webapp.extensions import db
from webapp.models import ApiToken, SystemLogEvent, User
from webapp.security.limits import limiter


def _user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == username))


def _log(type_: str) -> list[SystemLogEvent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(SystemLogEvent).where(SystemLogEvent.type == type_).order_by(SystemLogEvent.seq)))


def _from(client: WebClient, address: str) -> WebClient:
    client.client.environ_base["REMOTE_ADDR"] = address
    return client


def _copy_of_cookie(client: WebClient, app) -> WebClient:
    """What an attacker who saved the session cookie has: the same cookie in another browser."""
    thief = WebClient(app)
    thief.client.set_cookie("session", client.client.get_cookie("session").value)
    return thief


# ---------------------------------------------------------------- sessions end on the server


def test_a_cookie_saved_before_logout_is_refused_after_it(app, users):
    victim = signed_in(app, "manager")
    thief = _copy_of_cookie(victim, app)
    assert thief.get("/admin/users").status_code == 200  # the copy works while the session lives
    assert victim.post("/logout").status_code == 302
    response = thief.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _copy_of_cookie(victim, app).get("/").status_code == 302
    assert signed_in(app, "manager").get("/admin/users").status_code == 200  # signing in again works


def test_a_password_change_ends_other_sessions_and_every_token_but_keeps_this_browser(app, users):
    here, elsewhere = signed_in(app, "handler"), signed_in(app, "handler")
    assert users["handler"].get("/api/tasks").status_code == 200
    response = here.post("/me", {"locale": "zh_CN", "timezone": "Asia/Shanghai", "current_password": "pw-handler",
                                 "new_password": "a-new-long-password"})
    assert response.status_code == 302
    assert here.get("/me").status_code == 200
    assert elsewhere.get("/me").status_code == 302
    answer = users["handler"].get("/api/tasks")
    assert answer.status_code == 401 and answer.get_json()["errors"] == {"Authorization": "invalid token"}
    assert [e.subject for e in _log("password_changed")] == ["handler"]


def test_role_change_password_reset_and_deactivation_end_the_persons_sessions(app, users):
    admin = signed_in(app, "admin")
    tech_id = _user("tech").id
    tech = signed_in(app, "tech")
    assert admin.post(f"/admin/users/{tech_id}", {"roles": ["technician"], "active": "on",
                                                  "display_name": "维修"}).status_code == 302
    assert tech.get("/me").status_code == 200  # a change of name leaves the sessions alone
    assert admin.post(f"/admin/users/{tech_id}", {"roles": ["technician", "team_leader"], "active": "on"}).status_code == 302
    assert tech.get("/me").status_code == 302  # a role change
    tech = signed_in(app, "tech")
    assert admin.post(f"/admin/users/{tech_id}", {"roles": ["technician", "team_leader"], "active": "on",
                                                  "password": "reset-by-admin"}).status_code == 302
    assert tech.get("/me").status_code == 302  # a password reset
    tech = WebClient(app)
    assert tech.login("tech", "reset-by-admin").status_code == 302
    assert admin.post(f"/admin/users/{tech_id}", {"roles": ["technician", "team_leader"]}).status_code == 302
    assert tech.get("/me").status_code == 302  # deactivated


# ---------------------------------------------------------------- roles: only administrators


def test_a_managers_self_grant_is_refused_with_the_reason_and_logged(app, users):
    manager = signed_in(app, "manager")
    me = _user("manager")
    response = manager.post(f"/admin/users/{me.id}", {"roles": ["after_sales_manager", "process_owner", "auditor"],
                                                      "active": "on"})
    assert response.status_code == 403
    assert "不能更改自己的角色" in text_of(response)
    assert _user("manager").role_codes == {"after_sales_manager"}
    refused = _log("account_change_refused")
    assert len(refused) == 1 and refused[0].actor == "manager" and refused[0].subject == "manager"
    assert json.loads(refused[0].payload)["requested_roles"] == ["after_sales_manager", "auditor", "process_owner"]
    assert _log("roles_changed") == []


def test_a_manager_may_not_grant_or_remove_powerful_roles_nor_reset_their_passwords(app, users):
    manager = signed_in(app, "manager")
    tech, auditor = _user("tech"), _user("auditor")
    for roles in (["technician", "process_owner"], ["technician", "general_manager"], ["technician", "auditor"]):
        response = manager.post(f"/admin/users/{tech.id}", {"roles": roles, "active": "on"})
        assert response.status_code == 403 and "只有系统管理员可以授予或撤销" in text_of(response), roles
    response = manager.post("/admin/users/new", {"username": "mole", "password": "long-enough", "roles": ["auditor"]})
    assert response.status_code == 403 and _user("mole") is None
    # the auditor's password: what the attacker did to sign in as the auditor
    response = manager.post(f"/admin/users/{auditor.id}", {"roles": ["auditor"], "active": "on", "password": "taken-over"})
    assert response.status_code == 403 and "只有系统管理员可以设置" in text_of(response)
    assert check_password_hash(_user("auditor").password_hash, "pw-auditor")
    assert WebClient(app).login("auditor", "taken-over").status_code == 401
    # nor take the role away
    response = manager.post(f"/admin/users/{auditor.id}", {"roles": ["technician"], "active": "on"})
    assert response.status_code == 403 and _user("auditor").role_codes == {"auditor"}
    assert len(_log("account_change_refused")) == 6
    assert _log("roles_changed") == [] and _log("password_reset") == []
    # what a manager may still do: the department's roles, and the auditor's display name
    assert manager.post(f"/admin/users/{tech.id}", {"roles": ["technician", "team_leader"], "active": "on"}).status_code == 302
    page = text_of(manager.get(f"/admin/users/{auditor.id}"))
    assert 'type="hidden" name="roles" value="auditor"' in page  # kept as it is when the form is saved
    assert manager.post(f"/admin/users/{auditor.id}", {"roles": ["auditor"], "active": "on",
                                                       "display_name": "审计员甲"}).status_code == 302


def test_an_administrator_grants_and_resets_and_every_one_is_in_the_system_log(app, users):
    admin = signed_in(app, "admin")
    tech, auditor = _user("tech"), _user("auditor")
    assert admin.post(f"/admin/users/{tech.id}", {"roles": ["technician", "process_owner"], "active": "on"}).status_code == 302
    assert admin.post(f"/admin/users/{auditor.id}", {"roles": ["auditor"], "active": "on",
                                                     "password": "new-auditor-pw"}).status_code == 302
    assert admin.post(f"/admin/users/{tech.id}", {"roles": ["technician"], "active": "on"}).status_code == 302
    changes = [(e.actor, e.subject, json.loads(e.payload)["added"], json.loads(e.payload)["removed"])
               for e in _log("roles_changed")]
    assert changes == [("admin", "tech", ["process_owner"], []), ("admin", "tech", [], ["process_owner"])]
    assert [(e.actor, e.subject) for e in _log("password_reset")] == [("admin", "auditor")]
    # not even an administrator changes their own roles
    me = _user("admin")
    response = admin.post(f"/admin/users/{me.id}", {"roles": ["admin", "auditor"], "active": "on"})
    assert response.status_code == 403 and _user("admin").role_codes == {"admin"}


# ---------------------------------------------------------------- API tokens


def test_tokens_die_on_revoke_on_expiry_and_while_the_account_is_deactivated(app, users, manual_clock):
    owner = signed_in(app, "agent")
    response = owner.post("/me/tokens", {"name": "crm sync", "days": "7"})
    assert response.status_code == 200
    token = text_of(response).split('id="new-token" translate="no">', 1)[1].split("<", 1)[0]
    api = ApiClient(app.test_client(), token, "agent")
    assert api.get("/api/tasks").status_code == 200
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "crm sync"))
    assert row.token_hash != token and len(row.token_hash) == 64  # only the hash is stored
    assert row.expires_at == manual_clock.now() + timedelta(days=7)
    assert "crm sync" in text_of(owner.get("/me"))

    manual_clock.advance(days=7, seconds=1)
    assert api.get("/api/tasks").status_code == 401  # expired
    assert "已过期" in text_of(owner.get("/me"))

    second = ApiClient(app.test_client(), issue_token(_user("agent"), "second"), "agent")
    assert second.get("/api/tasks").status_code == 200
    second_id = db.session.scalar(db.select(ApiToken.id).where(ApiToken.name == "second"))
    assert signed_in(app, "handler").post(f"/me/tokens/{second_id}/revoke").status_code == 403  # not theirs
    assert second.get("/api/tasks").status_code == 200
    assert owner.post(f"/me/tokens/{second_id}/revoke").status_code == 302
    assert second.get("/api/tasks").status_code == 401  # revoked
    assert [json.loads(e.payload)["name"] for e in _log("api_token_revoked")] == ["second"]

    third = ApiClient(app.test_client(), issue_token(_user("agent"), "third"), "agent")
    agent = _user("agent")
    agent.active = False
    db.session.commit()
    assert third.get("/api/tasks").status_code == 401  # the account is deactivated
    agent.active = True
    db.session.commit()
    assert third.get("/api/tasks").status_code == 200


def test_an_administrator_lists_and_revokes_anyones_token(app, users):
    handler_id = _user("handler").id
    token_id = db.session.scalar(db.select(ApiToken.id).where(ApiToken.user_id == handler_id))
    manager = signed_in(app, "manager")
    assert 'data-token="' not in text_of(manager.get(f"/admin/users/{handler_id}"))  # managers do not see them
    assert manager.post(f"/admin/users/{handler_id}/tokens/{token_id}/revoke").status_code == 403
    admin = signed_in(app, "admin")
    assert f'data-token="{token_id}"' in text_of(admin.get(f"/admin/users/{handler_id}"))
    assert admin.post(f"/admin/users/{handler_id}/tokens/{token_id}/revoke").status_code == 302
    assert users["handler"].get("/api/tasks").status_code == 401


def test_new_tokens_last_90_days_by_default(app, users, manual_clock):
    from config import Config

    assert Config.API_TOKEN_DAYS == 90
    app.config["API_TOKEN_DAYS"] = Config.API_TOKEN_DAYS
    api = ApiClient(app.test_client(), issue_token(_user("tech"), "default"), "tech")
    manual_clock.advance(days=90, seconds=-1)
    assert api.get("/api/tasks").status_code == 200
    manual_clock.advance(seconds=2)
    assert api.get("/api/tasks").status_code == 401


def test_token_form_errors_and_csrf(app, users):
    client = signed_in(app, "tech")
    response = client.post("/me/tokens", {"name": "", "days": "100000"})
    assert response.status_code == 422
    assert "请为令牌起一个" in text_of(response) and "请选择所提供的期限之一" in text_of(response)
    assert client.post("/me/tokens", {"name": "x", "days": "30"}, csrf=False).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken).where(ApiToken.name == "x")) == 0


def test_flask_api_token_with_expires(app, users, manual_clock):
    runner = app.test_cli_runner()
    week = runner.invoke(args=["api-token", "tech", "--expires", "7", "--name", "nightly"])
    forever = runner.invoke(args=["api-token", "tech", "--expires", "never"])
    default = runner.invoke(args=["api-token", "tech"])
    bad = runner.invoke(args=["api-token", "tech", "--expires", "soon"])
    assert week.exit_code == 0 and forever.exit_code == 0 and default.exit_code == 0
    assert bad.exit_code == 2 and "--expires" in bad.output
    clients = {name: ApiClient(app.test_client(), result.output.strip().splitlines()[-1], "tech")
               for name, result in (("week", week), ("forever", forever), ("default", default))}
    assert all(c.get("/api/tasks").status_code == 200 for c in clients.values())
    manual_clock.advance(days=8)
    assert clients["week"].get("/api/tasks").status_code == 401
    assert clients["forever"].get("/api/tasks").status_code == 200
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "nightly"))
    assert row is not None and row.expires_at is not None


# ---------------------------------------------------------------- lock-out per account and address


def test_a_stranger_cannot_lock_the_administrator_out_of_their_own_address(app, users, manual_clock):
    stranger = _from(WebClient(app), "203.0.113.66")
    stranger.get("/login")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        stranger.post("/login", {"username": "admin", "password": "guess"})
    assert stranger.post("/login", {"username": "admin", "password": "pw-admin"}).status_code == 423
    owner = _from(WebClient(app), "192.0.2.10")
    assert owner.login("admin").status_code == 302  # the owner's address is not locked
    assert owner.get("/admin/users").status_code == 200
    # the API from the stranger's address is locked too, from the owner's it is not
    token = issue_token(_user("admin"), "ops")
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/tasks", headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.66"}).status_code == 401
    assert app.test_client().get("/api/tasks", headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 200
    # the manager sees the lock and where it comes from
    page = text_of(owner.get(f"/admin/users/{_user('admin').id}"))
    assert "203.0.113.66" in page


def test_each_lock_of_the_same_address_lasts_longer(app, users, manual_clock):
    lock = app.config["LOGIN_LOCK_SECONDS"]
    client = _from(WebClient(app), "198.51.100.7")
    client.get("/login")
    for expected in (lock, 2 * lock, 4 * lock):
        limiter.reset()  # the per-minute rate limit is not what this test is about
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            response = client.post("/login", {"username": "agent", "password": "guess"})
        assert response.status_code == 423
        manual_clock.advance(seconds=expected - 1)
        assert client.post("/login", {"username": "agent", "password": "pw-agent"}).status_code == 423
        manual_clock.advance(seconds=2)


# ---------------------------------------------------------------- rate limits per address (issue 19)


def test_the_11th_failed_sign_in_from_one_address_in_a_minute_is_429(app, users):
    attacker = _from(WebClient(app), "203.0.113.9")
    attacker.get("/login")
    for n in range(10):  # ten different names: the per-account lock-out does not stop them
        assert attacker.post("/login", {"username": f"guess{n}", "password": "x"}).status_code == 401
    response = attacker.post("/login", {"username": "guess10", "password": "x"})
    assert response.status_code == 429 and "尝试次数过多" in text_of(response)
    assert attacker.post("/login", {"username": "agent", "password": "pw-agent"}).status_code == 429
    other = _from(WebClient(app), "192.0.2.44")
    assert other.login("agent").status_code == 302


@contextmanager
def _api_limited_to(path, limit: str):
    """A fresh app on its own database with RATELIMIT_API = limit: a test client and the
    headers of a token-holding bot; the database is let go afterwards."""
    from flask_migrate import upgrade

    from tests.conftest import ROOT
    from webapp.accounts import create_user

    limited = create_app({**app_settings(f"sqlite:///{path}"), "RATELIMIT_API": limit})
    with limited.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        token = issue_token(create_user("bot", "pw-bot-long", ["customer_service"]), "bot")
        try:
            yield limited.test_client(), {"Authorization": f"Bearer {token}"}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_api_is_rate_limited_per_address(tmp_path, users):
    with _api_limited_to(tmp_path / "limits.db", "5 per minute") as (client, headers):
        codes = [client.get("/api/tasks", headers=headers).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        answer = client.get("/api/tasks", headers=headers)
        assert answer.status_code == 429 and "too many requests" in answer.get_json()["error"]
        other = client.get("/api/tasks", headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.5"})
        assert other.status_code == 200


def test_api_answers_say_the_allowance_left_and_when_it_renews(tmp_path, users):
    """X-RateLimit-Limit / -Remaining / -Reset and Retry-After on every API answer (refusals
    included), each endpoint with its own allowance per address."""
    import time

    with _api_limited_to(tmp_path / "headers.db", "3 per minute") as (client, headers):
        answers = [client.get("/api/tasks", headers=headers) for _ in range(2)]
        answers.append(client.get("/api/tasks"))  # no token: refused, and counted
        answers.append(client.get("/api/tasks", headers=headers))
        assert [a.status_code for a in answers] == [200, 200, 401, 429]
        assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["3"] * 4
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        for answer in answers:
            reset = int(answer.headers["X-RateLimit-Reset"])
            assert time.time() < reset <= time.time() + 62
            assert 0 <= int(answer.headers["Retry-After"]) <= 61
        assert answers[-1].get_json()["errors"] == {"rate_limit": "3 per 1 minute"}
        assert answers[-1].get_json()["code"] == "rate_limited"
        # another endpoint has its own allowance; pages and unknown API paths carry no such headers
        assert client.get("/api/process-instances", headers=headers).headers["X-RateLimit-Remaining"] == "2"
        assert "X-RateLimit-Limit" not in client.get("/api/no-such-thing", headers=headers).headers
        assert "X-RateLimit-Limit" not in client.get("/login").headers


def test_several_processes_share_the_limit_through_the_database(tmp_path):
    """RATELIMIT_STORAGE_URI=database://: two apps (as two web processes) on one database count
    together, so an address gets the limit once, not once per process."""
    from flask_migrate import upgrade

    from tests.conftest import ROOT

    settings = {**app_settings(f"sqlite:///{tmp_path / 'shared.db'}"), "RATELIMIT_API": "5 per minute",
                "RATELIMIT_STORAGE_URI": "database://"}
    first, second = create_app(settings), create_app(settings)
    with first.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from webapp.accounts import create_user

        token = issue_token(create_user("bot", "pw-bot-long", ["customer_service"]), "bot")
        db.session.remove()
    headers = {"Authorization": f"Bearer {token}"}
    codes = []
    for app in (first, second, first, second, first, second):
        with app.app_context():
            codes.append(app.test_client().get("/api/tasks", headers=headers).status_code)
            db.session.remove()
    assert codes == [200] * 5 + [429]
    with second.app_context():
        other = second.test_client().get("/api/tasks", headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.5"})
        assert other.status_code == 200
        db.session.remove()
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_the_sign_in_limit_with_database_storage(tmp_path, manual_clock):
    from flask_migrate import upgrade

    from tests.conftest import ROOT

    app = create_app({**app_settings(f"sqlite:///{tmp_path / 'login.db'}"), "RATELIMIT_STORAGE_URI": "database://"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from webapp.accounts import create_user

        create_user("clerk", "pw-clerk-long", ["customer_service"])
        db.session.commit()
        attacker = _from(WebClient(app), "203.0.113.9")
        attacker.get("/login")
        codes = [attacker.post("/login", {"username": f"guess{n}", "password": "x"}).status_code for n in range(11)]
        assert codes == [401] * 10 + [429]
        other = _from(WebClient(app), "192.0.2.44")
        assert other.login("clerk", "pw-clerk-long").status_code == 302
        db.session.remove()
        db.engine.dispose()
