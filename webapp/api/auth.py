"""Bearer-token authentication for the API."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from ..accounts import user_for_token
from ..extensions import db
from ..security import lockout
from ..sqlite_setup import READ_ONLY, begin_as_reader
from .errors import error_response

_AUTOCOMMIT = {READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}


def reads_only(view):
    """A view that writes nothing (a list): its transaction, the token check's included, is
    a reader's. On SQLite that is a plain BEGIN instead of BEGIN IMMEDIATE, so with WAL it
    reads beside the commands instead of queueing for the write lock behind them and making
    them queue behind it; on PostgreSQL nothing changes. Only for views that never write:
    a deferred SQLite transaction that then writes fails when another one wrote meanwhile.
    On PostgreSQL the reads run in autocommit: under READ COMMITTED every statement takes its
    own snapshot inside a transaction too, so the answer is the same, without the BEGIN and the
    ROLLBACK, two of a list's four round trips."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session()
        if session.in_transaction():  # (a test's requests may share one session)
            return view(*args, **kwargs)
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options=_AUTOCOMMIT)
        else:
            begin_as_reader(session)  # keeps the held connection (~60 µs a request)
        try:
            return view(*args, **kwargs)
        finally:
            # The reader's transaction ends with its view, not at the session's removal: a
            # command later in the same session (a test's requests share one app context)
            # would otherwise go on in it without the write lock, and fail with "database is
            # locked" at its first write if another process wrote since the list was read.
            session.rollback()

    return wrapper


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error_response(401, "missing bearer token", {"Authorization": "Bearer <token> required"})
        # Revoked, expired, its account deactivated or locked for this address, or a token from
        # before the account's last password change (those are revoked with it): all refused alike.
        user = user_for_token(token.strip(), lockout.client_address())
        if user is None:
            return error_response(401, "invalid, expired or revoked token", {"Authorization": "invalid token"})
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


def require_role(*codes: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = g.api_user
            if not any(user.has_role(code) for code in codes):
                return error_response(403, f"requires role {' or '.join(codes)}", {"role": "forbidden"})
            return view(*args, **kwargs)

        return wrapper

    return decorator
