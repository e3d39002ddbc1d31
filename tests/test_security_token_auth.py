"""Issue 17: bearer tokens are checked with one plain query per request and nothing is kept
between requests, so what another process changes (a revoke, a role change, a password
change, a deactivation) holds in this process from its very next request."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT
from webapp.extensions import db

_OTHER_PROCESS = textwrap.dedent("""
    import sys
    from tests.conftest import app_settings
    from webapp import create_app
    from webapp.accounts import revoke_all_tokens, set_password
    from webapp.extensions import db
    from webapp.models import Role, User

    app = create_app(app_settings(sys.argv[1]))
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == sys.argv[3]))
        action = sys.argv[2]
        if action == "revoke":
            revoke_all_tokens(user, by="other process")
        elif action == "roles":
            user.roles = [db.session.get(Role, "auditor")]
        elif action == "password":
            set_password(user, "a-new-password-long-enough")
        elif action == "deactivate":
            user.active = False
        db.session.commit()
        db.engine.dispose()
""")


def _in_other_process(app, action: str, username: str) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()  # this process's last request is over: nothing of it holds the database
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, url, action, username], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    db.session.remove()  # a request of this process starts with a fresh session, as a web request does


def test_a_revoke_or_deactivation_in_another_process_holds_at_the_next_request(app, users):
    agent, handler = users["agent"], users["handler"]
    assert agent.get("/api/tasks").status_code == 200
    assert handler.get("/api/tasks").status_code == 200
    _in_other_process(app, "revoke", "agent")
    assert agent.get("/api/tasks").status_code == 401
    _in_other_process(app, "deactivate", "handler")
    assert handler.get("/api/tasks").status_code == 401


def test_a_role_change_or_password_change_in_another_process_holds_at_the_next_request(app, users):
    admin, manager = users["admin"], users["manager"]
    assert admin.get("/api/jobs").status_code == 200
    assert admin.post("/api/jobs/999999/retry").status_code == 404  # a manager's action, allowed
    _in_other_process(app, "roles", "admin")  # now only an auditor
    assert admin.get("/api/jobs").status_code == 200
    assert admin.post("/api/jobs/999999/retry").status_code == 403
    assert manager.get("/api/tasks").status_code == 200
    _in_other_process(app, "password", "manager")
    assert manager.get("/api/tasks").status_code == 401
