"""Sessions that end on the server. Flask's session is a signed cookie the server keeps no
copy of, so a saved cookie would outlive sign-out. Each account carries a session version;
sign-in writes it into the session, every request compares it (in the user loader), and
sign-out, a password change, a role change and deactivation raise it: every cookie signed in
before is then refused, in every browser and every process."""

from __future__ import annotations

from flask import session
from flask.sessions import SecureCookieSessionInterface

from ..models import User

SESSION_KEY = "_sv"


def remember(user: User) -> None:
    """After login_user: this session belongs to the account's current version."""
    session[SESSION_KEY] = user.session_version or 1


def is_current(user: User) -> bool:
    return session.get(SESSION_KEY) == (user.session_version or 1)


def end_all(user: User) -> None:
    """Every open session of the account ends at its next request (commit with the change)."""
    user.session_version = (user.session_version or 1) + 1


class ApiAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, not opened for an API call that carries no session
    cookie (a bearer-token client): such a request reads an empty session and cannot write
    one, and no serializer is built for it nor a cookie considered at its end. A request
    with the cookie (a signed-in browser calling /api/) gets its session as before."""

    def open_session(self, app, request):
        if request.path.startswith("/api/") and self.get_cookie_name(app) not in request.cookies:
            return self.null_session_class()
        return super().open_session(app, request)
