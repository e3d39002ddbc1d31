"""Account and role management: managers and administrators only; no raising of one's own rights."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from tests.test_ui_support import WebClient, compiled_translations, signed_in, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import User


def _user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == username))


def test_only_managers_and_admins_manage_accounts(app, users):
    for username in ("agent", "handler", "tech", "auditor", "owner"):
        client = signed_in(app, username)
        assert client.get("/admin/users").status_code == 403, username
        assert client.get("/admin/users/new").status_code == 403, username
        r = client.post("/admin/users/new", {"username": "sneaky", "password": "long-enough", "roles": ["admin"]})
        assert r.status_code == 403, username
        assert "账户管理" not in text_of(client.get("/"))  # not in their menu either
    assert _user("sneaky") is None
    for username in ("manager", "admin"):
        page = text_of(signed_in(app, username).get("/admin/users"))
        assert '<tr data-user="handler"' in page and "客户投诉处理组" in page


def test_manager_creates_an_account_with_roles(app, users):
    manager = signed_in(app, "manager")
    r = manager.post("/admin/users/new", {"username": "wang", "display_name": "王工", "password": "long-enough",
                                          "roles": ["technician", "team_leader"]})
    assert r.status_code == 302 and r.headers["Location"] == "/admin/users"
    user = _user("wang")
    assert user.role_codes == {"technician", "team_leader"} and user.display_name == "王工"
    assert user.password_hash.startswith("scrypt:") and check_password_hash(user.password_hash, "long-enough")
    assert "账户 wang 已创建。" in text_of(manager.get("/admin/users"))
    # the new person can sign in
    assert WebClient(app).login("wang", "long-enough").status_code == 302


def test_account_form_errors(app, users):
    manager = signed_in(app, "manager")
    r = manager.post("/admin/users/new", {"username": "handler", "password": "short", "display_name": "重名"})
    assert r.status_code == 422
    page = text_of(r)
    assert "此用户名已被使用。" in page and "请至少使用 8 个字符。" in page and "请至少选择一个角色。" in page
    assert 'value="重名"' in page  # what was typed stays
    r = manager.post("/admin/users/new", {"username": "bad name!", "password": "long-enough", "roles": ["technician"]})
    assert r.status_code == 422 and "请使用 2 到 80 个字母" in text_of(r)


def test_manager_changes_roles_and_deactivates(app, users):
    manager = signed_in(app, "manager")
    tech = _user("tech")
    page = text_of(manager.get(f"/admin/users/{tech.id}"))
    assert 'name="roles" value="technician" checked' in page
    assert 'value="admin"' not in page  # a manager cannot hand out the administrator role
    r = manager.post(f"/admin/users/{tech.id}", {"display_name": "技师", "roles": ["technician", "workshop_supervisor"],
                                                 "active": "on"})
    assert r.status_code == 302
    assert _user("tech").role_codes == {"technician", "workshop_supervisor"}
    r = manager.post(f"/admin/users/{tech.id}", {"display_name": "技师", "roles": ["technician"]})
    assert r.status_code == 302
    assert _user("tech").active is False
    assert "已停用" in text_of(manager.get("/admin/users"))


def test_manager_cannot_grant_admin_nor_touch_admins_nor_deactivate_self(app, users):
    manager = signed_in(app, "manager")
    tech, admin, me = _user("tech"), _user("admin"), _user("manager")
    r = manager.post(f"/admin/users/{tech.id}", {"roles": ["technician", "admin"], "active": "on"})
    assert r.status_code == 403 and "只有系统管理员可以授予或撤销" in text_of(r)
    assert "admin" not in _user("tech").role_codes
    assert manager.get(f"/admin/users/{admin.id}").status_code == 403
    assert manager.post(f"/admin/users/{admin.id}", {"roles": ["technician"], "active": "on"}).status_code == 403
    r = manager.post(f"/admin/users/{me.id}", {"roles": ["after_sales_manager"]})
    assert r.status_code == 422 and "不能停用自己的账户。" in text_of(r)
    assert _user("manager").active is True


def test_admin_grants_admin_resets_password_and_unlocks(app, users, manual_clock):
    from datetime import timedelta

    from webapp.models import LoginThrottle

    tech = _user("tech")
    db.session.add(LoginThrottle(username="tech", address="10.1.2.3", failures=0, lockouts=1,
                                 locked_until=manual_clock.now() + timedelta(minutes=5)))
    db.session.commit()
    admin = signed_in(app, "admin")
    assert "已锁定" in text_of(admin.get("/admin/users"))
    r = admin.post(f"/admin/users/{tech.id}", {"roles": ["technician", "admin"], "active": "on", "password": "new-password",
                                               "unlock": "on"})
    assert r.status_code == 302
    user = _user("tech")
    assert user.role_codes == {"technician", "admin"}
    assert db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.username == "tech")) is None
    assert check_password_hash(user.password_hash, "new-password")
