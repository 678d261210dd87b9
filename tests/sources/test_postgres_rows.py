"""How the PostgreSQL source renders and fetches rows (postgres_rows), in process against the test server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest

from airpipe.sources import postgres_rows
from airpipe.sources.postgres import connect
from airpipe.sources.postgres_catalog import Table, list_tables

pytestmark = pytest.mark.postgres
SCHEMA = f"rows_{uuid.uuid4().hex[:8]}"  # this module's, in the session's database


@pytest.fixture(scope="module")
def conn(postgres_url: str) -> Iterator[Any]:
    import psycopg2.extensions

    dsn = psycopg2.extensions.parse_dsn(postgres_url)
    config = {"host": dsn.get("host", "127.0.0.1"), "port": int(dsn.get("port", 5432)), "database": dsn["dbname"]}
    connection = connect({**config, "username": dsn.get("user", "postgres"), "password": dsn.get("password", ""), "ssl_mode": "disable"})
    execute(connection, f"CREATE SCHEMA {SCHEMA}; SET search_path TO {SCHEMA}")
    try:
        yield connection
    finally:
        connection.rollback()
        connection.autocommit = True
        execute(connection, f"DROP SCHEMA {SCHEMA} CASCADE")
        connection.close()


def execute(conn: Any, statements: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(statements)


def table(conn: Any, name: str) -> Table:
    return list_tables(conn, [SCHEMA], name)[(SCHEMA, name)]


# THE ROW AS JSON

TYPES = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TYPE pair AS (a integer, b json);
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN label AS text;
CREATE DOMAIN doc AS jsonb;
CREATE TABLE kinds (
    id integer PRIMARY KEY, small smallint, big bigint, o oid, n numeric, re real, d double precision, flag boolean,
    t text, v varchar(20), c char(5), ch "char", nm name, j json, jb jsonb, u uuid, day date, tm time, tz timetz,
    ts timestamp, tstz timestamptz, span interval, bin bytea, cash money, ip inet, net cidr, mac macaddr, pt point,
    rng int4range, words tsvector, bits bit(4), vbits varbit, ints integer[], texts text[], docs jsonb[], jsons json[], p pair,
    m mood, pos positive, lbl label, dc doc, "we""ird % name" text, "r" integer
);
INSERT INTO kinds VALUES
    (1, -32768, 9223372036854775807, 4294967295, 1.500, 1.5, 0.1, true,
     E'quote " backslash \\\\ ctrl \\001 tab \\t newline \\n é 😀', 'varchar', 'ab', 'x', 'a name',
     E'{"x" :\\n 1,\\t"y": "\\\\n"}', '{"b": [1, 2], "a": null, "s": "\\\\u0001"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '2024-03-01', '12:34:56.789', '12:34:56+02', '2024-03-01 12:34:56', '2024-03-01 12:34:56.789+02', '1 day 02:03:04',
     E'\\\\x00ff', 12.34, '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '(1.5,2)', '[1,5)', 'a fat cat', B'1010',
     B'101', ARRAY[1, NULL, 3], ARRAY['a"b', NULL, 'c\\d'], ARRAY['{"k": 1}'::jsonb], ARRAY[E'{"k":\\n1}'::json],
     ROW(7, E'[\\n1]'), 'ok', 5, 'lbl',
     '{"d": true}', 'odd', 42),
    (2, NULL, NULL, NULL, 'NaN', 'NaN', 'Infinity', NULL, '', NULL, NULL, NULL, NULL, 'null', 'null', NULL, 'infinity',
     NULL, NULL, '-infinity', 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'empty', NULL, NULL, NULL, '{}',
     '{}', NULL, NULL, ROW(NULL, NULL), NULL, NULL, NULL, 'null', NULL, NULL),
    (3, 0, -1, 0, '-Infinity', '-Infinity', '-Infinity', false, 'null', 'null', NULL, NULL, NULL, '[]', '"s"',
     NULL, '0001-01-01 BC', NULL, NULL, NULL, NULL, '-1 year', '', -1, '::1', NULL, NULL, NULL, NULL, '', NULL, NULL,
     '{{1,2},{3,4}}', NULL, NULL, NULL, NULL, 'sad', 1, '', '[1, "x"]', '', NULL),
    (4, NULL, NULL, NULL, 1e-20, 1e-30, 1e300, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL);
"""


def test_row_json_is_the_text_row_to_json_makes(conn: Any) -> None:
    """Byte for byte, for every kind of column, with NaN and +-Infinity numbers as null, and the
    line breaks of json values (whitespace) as spaces."""
    from psycopg2 import sql

    execute(conn, TYPES)
    kinds = table(conn, "kinds")
    names = list(kinds.columns)
    # row_to_json of the row with its NaN and +-Infinity numbers nulled, and oids as the integers
    # discover declares them (row_to_json would quote them)
    special = {
        "numeric": "CASE WHEN {0} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE {0} END AS {0}",
        "oid": "{0}::bigint AS {0}",
    }
    special["float4"] = special["float8"] = special["numeric"]
    nulled = [sql.SQL(special.get(kinds.columns[n].typname, "{0}")).format(sql.Identifier(n)) for n in names]
    expected_query = sql.SQL("SELECT row_to_json(x.*)::text FROM (SELECT {} FROM kinds ORDER BY id) x").format(sql.SQL(", ").join(nulled))
    actual_query = sql.SQL("SELECT {} FROM kinds AS r ORDER BY r.id").format(postgres_rows.row_json(kinds, names))
    with conn.cursor() as cursor:
        cursor.execute(expected_query)
        made = [row[0] for row in cursor.fetchall()]
        cursor.execute(actual_query)
        actual = [row[0] for row in cursor.fetchall()]
    assert len(actual) == 4
    assert sum(text.count("\n") for text in made) == 3  # in a json, a json[] and a composite's json
    assert actual == [text.replace("\n", " ") for text in made]
    # and the numbers that JSON cannot hold are null, not strings
    assert [msgspec.json.decode(text)["n"] for text in actual] == [1.5, None, None, 1e-20]
    assert msgspec.json.decode(actual[1])["d"] is None


def test_row_json_of_a_selection_and_of_no_columns(conn: Any) -> None:
    execute(conn, "CREATE TABLE few (id integer, t text, \"x\"\"y\" jsonb); INSERT INTO few VALUES (1, 'a', '{}')")
    few = table(conn, "few")
    with conn.cursor() as cursor:
        for columns, expected in [(["t"], {"t": "a"}), (['x"y', "id"], {'x"y': {}, "id": 1}), ([], {})]:
            cursor.execute(postgres_rows.row_json(few, columns).as_string(conn).join(["SELECT ", " FROM few AS r"]))
            text = cursor.fetchone()[0]
            assert msgspec.json.decode(text) == expected
            assert list(msgspec.json.decode(text)) == columns  # in the order asked


# FULL REFRESH BY PAGE RANGES


@contextmanager
def snapshot(conn: Any) -> Iterator[None]:
    """A read-only REPEATABLE READ transaction, as the source reads in."""
    conn.autocommit = False
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        yield
    finally:
        conn.rollback()
        conn.autocommit = True


def records(chunks: Iterator[bytes]) -> list[dict[str, Any]]:
    lines = b"".join(chunks).splitlines()
    messages = [msgspec.json.decode(line) for line in lines]
    assert all(m["type"] == "RECORD" for m in messages)
    return [m["record"] for m in messages]


def test_a_table_is_read_a_range_of_pages_at_a_time_in_one_snapshot(conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg2

    execute(
        conn,
        """
        CREATE TABLE paged (id integer PRIMARY KEY, pad text, doc json);
        INSERT INTO paged SELECT i, repeat('p', 200), (E'{"i":\\n' || i || '}')::json FROM generate_series(1, 20000) i;
        DELETE FROM paged WHERE id BETWEEN 5001 AND 12000;  -- whole ranges of pages left empty
        """,
    )
    execute(conn, "VACUUM paged")  # alone: not in a transaction
    monkeypatch.setattr(postgres_rows, "BATCH_BYTES", 5_000)  # many small ranges
    paged = table(conn, "paged")
    other = psycopg2.connect(conn.dsn)
    other.autocommit = True
    try:
        with snapshot(conn):
            chunks = postgres_rows.read_full(conn, paged, ["id", "doc"])
            first = next(chunks)
            # written after the read began: not seen (the snapshot), wherever the rows land
            with other.cursor() as cursor:
                cursor.execute(f"SET search_path TO {SCHEMA}")
                cursor.execute("INSERT INTO paged SELECT i, 'late', '{}' FROM generate_series(30001, 31000) i")
                cursor.execute("UPDATE paged SET id = id + 100000 WHERE id <= 100")
                cursor.execute("DELETE FROM paged WHERE id BETWEEN 19000 AND 20000")
            rest = list(chunks)
    finally:
        other.close()
    read = records(iter([first, *rest]))
    assert len(rest) > 20  # ranges, not one query
    assert sorted(r["data"]["id"] for r in read) == [*range(1, 5001), *range(12001, 20001)]
    assert all(r["stream"] == "paged" and r["namespace"] == SCHEMA and set(r["data"]) == {"id", "doc"} for r in read)
    assert all(r["data"]["doc"] == {"i": r["data"]["id"]} for r in read)  # the json's line break was whitespace
    # each range's records share their emitted_at, and every record has one
    assert all(isinstance(r["emitted_at"], int) for r in read)


def test_a_line_break_the_server_left_in_a_range_is_made_a_space(conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    execute(conn, "CREATE TABLE breaks (id integer, docs json[])")
    execute(conn, """INSERT INTO breaks SELECT i, ARRAY[E'{"k":\\n1}'::json] FROM generate_series(1, 3) i""")
    monkeypatch.setattr(postgres_rows, "_holds_values", lambda column: False)  # so json[] keeps its line breaks
    with snapshot(conn):
        read = records(postgres_rows.read_full(conn, table(conn, "breaks"), ["id", "docs"]))
    assert [r["data"] for r in read] == [{"id": i, "docs": [{"k": 1}]} for i in (1, 2, 3)]


def test_an_empty_table_views_and_inheritance_are_read_too(conn: Any) -> None:
    execute(
        conn,
        """
        CREATE TABLE empty (id integer);
        CREATE TABLE full_one (id integer); INSERT INTO full_one SELECT generate_series(1, 3000);
        CREATE VIEW evens AS SELECT id FROM full_one WHERE id % 2 = 0;
        CREATE MATERIALIZED VIEW odds AS SELECT id FROM full_one WHERE id % 2 = 1;
        CREATE TABLE child (extra text) INHERITS (full_one);  -- with more pages than its parent:
        INSERT INTO child SELECT i, 'x' FROM generate_series(5001, 25000) i;
        """,
    )
    empty, evens, odds, parent = table(conn, "empty"), table(conn, "evens"), table(conn, "odds"), table(conn, "full_one")
    assert (evens.kind, odds.kind) == ("v", "m")  # a view is read from a cursor (it has no pages), a materialized view by pages
    with snapshot(conn):
        assert records(postgres_rows.read_full(conn, empty, ["id"])) == []
        evens_read = sorted(r["data"]["id"] for r in records(postgres_rows.read_full(conn, evens, ["id"])))
        assert evens_read == [*range(2, 3001, 2), *range(5002, 25001, 2)]  # the child's rows are the parent's
        assert sorted(r["data"]["id"] for r in records(postgres_rows.read_full(conn, odds, ["id"]))) == list(range(1, 3001, 2))
        # a parent's pages are counted, not its children's: the last range is open, so none are lost
        ids = [r["data"]["id"] for r in records(postgres_rows.read_full(conn, parent, ["id"]))]
        assert sorted(ids) == [*range(1, 3001), *range(5001, 25001)]
