"""ETag / If-Match on a case, mapped onto the instance's version counter.

GET of an instance (or of one of its tasks) answers `ETag: "v<version>"`; a write that sends
`If-Match` runs only when the case is still at that version, else 412 `precondition_failed`.
Without If-Match nothing changes: a concurrent writer still gets 409 `version_conflict`.

The check reads the version with SELECT ... FOR UPDATE in the command's own transaction
(PostgreSQL holds the row until the command commits; SQLite's BEGIN IMMEDIATE holds the whole
database), so nothing can change the case between the check and the command.
"""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from ..engine.errors import EngineError
from ..extensions import db
from ..models import Instance


class PreconditionFailed(EngineError):
    status = 412


def etag_of(version: int) -> str:
    return f"v{version}"


def with_etag(response: Response, version: int) -> Response:
    response.set_etag(etag_of(version))
    return response


def check_if_match(instance_id: int) -> None:
    """Raise 412 when the request's If-Match names another version of the case."""
    if "If-Match" not in request.headers:
        return
    wanted = request.if_match
    current = db.session.scalar(select(Instance.version).where(Instance.id == instance_id).with_for_update())
    if current is None or wanted.star_tag:
        return
    if not wanted.contains(etag_of(current)):
        raise PreconditionFailed(
            f"the case is at version {current}, not the one in If-Match: reload it / 工单已变更，请刷新",
            {"If-Match": f'current ETag is "{etag_of(current)}"'})
