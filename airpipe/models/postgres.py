"""PostgreSQL, with the prepared queries (db.Prepared) run as server-side prepared statements.

PostgreSQL plans a statement each time it receives one: ~25 us of a lookup by key, ~65 us of a
join, more than running it. A prepared statement is planned once per connection. So each
``Prepared`` query is PREPAREd on a connection the first time it runs there, and EXECUTEd from
then on. A statement lives as long as its connection (a rollback does not undo a PREPARE); the
names prepared on each connection are kept beside it.

A pooler that hands each transaction another server connection (PgBouncer's transaction mode)
loses statements between one query and the next: ``AIRPIPE_DATABASE_PREPARE=0`` turns them off,
and a statement found missing turns them off too (with a warning) after answering that query
the plain way.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Sequence
from typing import Any

import peewee
from playhouse.pool import PooledPostgresqlDatabase

logger = logging.getLogger("airpipe")

_names = itertools.count(1)
#: the SQLSTATE of "prepared statement ... does not exist"
_MISSING_STATEMENT = "26000"


def statement_name() -> str:
    """A name for one prepared query, the same on every connection of this process."""
    return f"airpipe_{next(_names)}"


class PreparingPostgresqlDatabase(PooledPostgresqlDatabase):  # type: ignore[misc]  # peewee is untyped
    def __init__(self, *args: Any, prepare: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepare = prepare
        #: per psycopg2 connection, the statements prepared on it (gone with the connection)
        self._prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()

    def execute_prepared(self, name: str, sql: str, params: Sequence[Any]) -> Any:
        """The cursor of ``sql`` (with ``%s`` parameters) run as the prepared statement ``name``."""
        if not self.prepare or "%%" in sql:  # (a literal % would be miscounted: none of ours has one)
            return self.execute_sql(sql, params)
        names = self._prepared.setdefault(self.connection(), set())
        if name not in names:
            self.execute_sql(f"PREPARE {name} AS {_numbered(sql)}")
            names.add(name)
        try:
            return self.execute_sql(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}", params)
        except peewee.DatabaseError as exc:
            if getattr(getattr(exc, "orig", None), "pgcode", None) != _MISSING_STATEMENT:  # orig: the psycopg2 error
                raise
            names.clear()
            self.prepare = False
            logger.warning(
                "a prepared statement vanished from its database connection (a pooler in transaction mode?):"
                " prepared statements are off from now on; set AIRPIPE_DATABASE_PREPARE=0 to start without them"
            )
            if self.in_transaction():  # the transaction is aborted: it fails, as on any error
                raise
            return self.execute_sql(sql, params)


def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` parameters written ``$1``, ``$2``... as PREPARE takes them."""
    parts = sql.split("%s")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1))
