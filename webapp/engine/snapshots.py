"""Where an instance's snapshot is stored: in pieces, one row each (snapshot_pieces), so a
command writes the pieces that changed, not the whole case again. The pieces are the
snapshot text cut at fixed places (serialization.dump_pieces): the head up to the
top-level task table, groups of task entries, the rest. A long case's finished steps sit
in pieces that no longer change.

Instances written before the pieces existed keep the whole text in `instances.snapshot`
(`snapshot_pieces` = 0) until their next command. `text_of` reads either: nothing else
needs to know how a snapshot is stored.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Integer, bindparam, column, values

from ..extensions import db
from ..models import Instance, SnapshotPiece
from . import plain_sql, serialization

_PIECES = SnapshotPiece.__table__
# read on the driver (plain_sql): SQLAlchemy's own execution cost several times the
# statement (verify reads every case's pieces: about a tenth of its CPU went there)
_SELECT = plain_sql.Statement(
    db.select(_PIECES.c.text).where(_PIECES.c.instance_id == bindparam("i")).order_by(_PIECES.c.n)
)
# the writes of every command: on the driver (plain_sql), so on PostgreSQL they go out in the
# command's pipeline without waiting for an answer
_INSERT = plain_sql.Statement(_PIECES.insert(), ("instance_id", "n", "text"))
_UPDATE = plain_sql.Statement(
    _PIECES.update().where(_PIECES.c.instance_id == bindparam("w_i"), _PIECES.c.n == bindparam("w_n"))
    .values(text=bindparam("v_text"))
)
_DELETE_FROM = plain_sql.Statement(
    _PIECES.delete().where(_PIECES.c.instance_id == bindparam("i"), _PIECES.c.n >= bindparam("n"))
)
_STORED = "_stored_pieces"  # on the live workflow: the pieces as the database holds them


# PostgreSQL: several pieces of one command in one statement (a multi-row VALUES), not one
# statement per piece: each statement is a message to build, send and bind on both sides.
# SQLite keeps executemany (one prepared statement, no network).
@lru_cache(maxsize=16)
def _update_rows(count: int) -> plain_sql.Statement:
    rows = values(column("n", Integer), column("text", _PIECES.c.text.type), name="v").data(
        [(bindparam(f"n{k}", type_=Integer), bindparam(f"t{k}", type_=_PIECES.c.text.type)) for k in range(count)])
    return plain_sql.Statement(
        _PIECES.update().where(_PIECES.c.instance_id == bindparam("w_i"), _PIECES.c.n == rows.c.n).values(text=rows.c.text))


@lru_cache(maxsize=16)
def _insert_rows(count: int) -> plain_sql.Statement:
    return plain_sql.Statement(_PIECES.insert().values([
        {"instance_id": bindparam("i", type_=Integer), "n": bindparam(f"n{k}", type_=Integer),
         "text": bindparam(f"t{k}", type_=_PIECES.c.text.type)} for k in range(count)]))


def _write(instance_id: int, numbered: list[tuple[int, str]], *, insert: bool) -> None:
    """Pieces (n, text) of the instance: rewritten in place, or new (`insert`)."""
    if not numbered:
        return
    if len(numbered) > 1 and plain_sql.dialect_of(db.session).name == "postgresql":
        params = {f"n{k}": n for k, (n, _) in enumerate(numbered)}
        params.update({f"t{k}": text for k, (_, text) in enumerate(numbered)})
        if insert:
            plain_sql.send(db.session, _insert_rows(len(numbered)), {"i": instance_id, **params})
        else:
            plain_sql.send(db.session, _update_rows(len(numbered)), {"w_i": instance_id, **params})
    elif insert:
        plain_sql.execute_many(db.session, _INSERT, [{"instance_id": instance_id, "n": n, "text": text}
                                                     for n, text in numbered])
    else:
        plain_sql.execute_many(db.session, _UPDATE, [{"w_i": instance_id, "w_n": n, "v_text": text}
                                                     for n, text in numbered])


def pieces_of(instance: Instance) -> list[str]:
    if not instance.snapshot_pieces:
        return [instance.snapshot or ""]
    return [row[0] for row in plain_sql.fetch_all(db.session, _SELECT, {"i": instance.id})]


def text_of(instance: Instance) -> str:
    """The instance's stored snapshot text, however it is stored."""
    if not instance.snapshot_pieces:
        return instance.snapshot or ""
    return "".join(pieces_of(instance))


def remember(workflow, instance: Instance, pieces: list[str]) -> None:
    """The workflow was loaded from these stored pieces: the next store writes only what
    differs from them."""
    if instance.snapshot_pieces:
        workflow.__dict__[_STORED] = [piece.encode() for piece in pieces]


def store(instance: Instance, workflow) -> None:
    """Write the pieces of the workflow's latest dump that differ from what is stored (in
    the command's transaction: its version check guards these rows too)."""
    pieces = serialization.last_pieces(workflow)
    stored = workflow.__dict__.get(_STORED)
    if stored is None:
        stored = [p.encode() for p in pieces_of(instance)] if instance.snapshot_pieces else []
    _write(instance.id, [
        (n, piece.decode())
        for n, piece in enumerate(pieces[: len(stored)])
        if piece is not stored[n] and piece != stored[n]
    ], insert=False)
    if len(stored) > len(pieces):
        plain_sql.send(db.session, _DELETE_FROM, {"i": instance.id, "n": len(pieces)})
    elif len(pieces) > len(stored):
        _write(instance.id, [(n, pieces[n].decode()) for n in range(len(stored), len(pieces))], insert=True)
    workflow.__dict__[_STORED] = list(pieces)
    was = instance.snapshot_pieces
    if was != len(pieces):
        instance.snapshot_pieces = len(pieces)
    if not was:
        instance.snapshot = ""  # the text moved to the pieces (set without loading the deferred column)
