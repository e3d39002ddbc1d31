"""Sessions that end on the server. Flask's session is a signed cookie the server keeps no
copy of, so a saved cookie would outlive sign-out. Each account carries a session version;
sign-in writes it into the session, every request compares it (in the user loader), and
sign-out, a password change, a role change and deactivation raise it: every cookie signed in
before is then refused, in every browser and every process."""

from __future__ import annotations

from flask import session

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
