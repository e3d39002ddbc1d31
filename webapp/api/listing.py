"""One page of an API list: `limit` and `offset` from the query string (checked by
webapp/params.py, so a bad value is the same 400 everywhere), the total in `X-Total-Count`.

The lists' bodies stay JSON arrays (the README's contract); the paging facts travel in
headers: `X-Total-Count` (matching rows before paging), `X-Limit`, `X-Offset`, and a
`Link: <...>; rel="next"` while more rows follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Response, jsonify, request
from sqlalchemy import Select, func, select

from .. import params
from ..extensions import db

MAX_OFFSET = params.MAX_ID


@dataclass
class Page:
    items: list
    total: int
    limit: int | None
    offset: int

    def response(self, body: list) -> Response:
        answer = jsonify(body)
        answer.headers["X-Total-Count"] = str(self.total)
        answer.headers["X-Offset"] = str(self.offset)
        if self.limit is not None:
            answer.headers["X-Limit"] = str(self.limit)
            if self.offset + self.limit < self.total:
                args = request.args.to_dict() | {"limit": str(self.limit), "offset": str(self.offset + self.limit)}
                query = urlencode(args)
                answer.headers["Link"] = f'<{request.path}?{query}>; rel="next"'
        return answer


def limit_offset(*, default: int | None, maximum: int) -> tuple[int | None, int]:
    limit = None
    if default is not None or (request.args.get("limit") or "").strip():
        limit = params.limit_arg(default=default or maximum, maximum=maximum)
    return limit, params.int_arg("offset", 0, maximum=MAX_OFFSET) or 0


def page(query: Select, *, default: int | None, maximum: int) -> Page:
    """`query` (ordered by the caller) cut to the requested page. `default` None: without a
    `limit` every row (the lists whose contract says so); a `limit` above `maximum` is `maximum`."""
    limit, offset = limit_offset(default=default, maximum=maximum)
    cut = query.offset(offset)
    if limit is not None:
        cut = cut.limit(limit)
    items = list(db.session.scalars(cut).unique().all())
    if (limit is None or len(items) < limit) and (items or offset == 0):
        # the page ends before the limit: the rows before it and on it are all there are,
        # so the total needs no COUNT (most calls: a case's few open tasks, a short history)
        total = offset + len(items)
    else:
        total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return Page(items, total, limit, offset)


def paged_rows(rows: list, *, default: int | None, maximum: int) -> Page:
    """The same for a list already built in Python (a few hundred rows at most)."""
    limit, offset = limit_offset(default=default, maximum=maximum)
    end = None if limit is None else offset + limit
    return Page(rows[offset:end], len(rows), limit, offset)
