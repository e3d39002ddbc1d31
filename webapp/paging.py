"""One page of a long list, for every paged page of the UI (Flask-SQLAlchemy's db.paginate).

The page number comes from the address (`?page=N`), which anyone can edit: a number that is
not a page is clamped to the first or last page instead of failing (a huge number would
otherwise overflow the database's OFFSET and answer 500).
"""

from __future__ import annotations

from flask import request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from .extensions import db

# No list has this many pages; anything above is clamped before it reaches SQL.
MAX_PAGE = 1_000_000


def requested_page() -> int:
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


def paginate(query: Select, per_page: int) -> Pagination:
    """The requested page of `query` (ordered by the caller), clamped to the pages there are.
    `.items`, `.page`, `.pages` (at least 1) and `.total` are what the pager shows."""
    page = db.paginate(query, page=requested_page(), per_page=per_page, max_per_page=per_page, error_out=False, count=True)
    if page.page > 1 and page.page > page.pages:
        page = db.paginate(query, page=max(page.pages, 1), per_page=per_page, max_per_page=per_page, error_out=False)
    return page

