"""IN lists of placeholders go to PostgreSQL as one array parameter (store/pg.py
`collapse_in_lists`): the rewrite leaves literals, subqueries and single values alone, and a
real server answers every rewritten form as SQLite answers the original."""

from __future__ import annotations

import sqlite3

import pytest

from paperscope.store.pg import PgConnection, collapse_in_lists, in_lists

pytestmark = pytest.mark.skipif(
    "postgres" not in __import__("backends").wanted(), reason="PAPERSCOPE_TEST_BACKENDS"
)


def test_lists_become_arrays_and_the_rest_is_left_alone():
    sql, params = collapse_in_lists(
        "SELECT a FROM t WHERE m = ? AND r IN (?, ?) AND s in (?,?,?) AND x = ? AND y IN (?)",
        ("m", 10, 11, "a", "b", "c", 5, 6),
    )
    assert sql == "SELECT a FROM t WHERE m = ? AND r = ANY(?) AND s = ANY(?) AND x = ? AND y IN (?)"
    assert params == ("m", [10, 11], ["a", "b", "c"], 5, 6)
    assert in_lists("SELECT 'IN (?,?)', x FROM t WHERE y NOT IN (?,?)") == (
        "SELECT 'IN (?,?)', x FROM t WHERE y <> ALL(?)",
        ((0, 2),),
    )
    subquery = "SELECT x FROM t WHERE y IN (SELECT z FROM u WHERE w = ?)"
    assert in_lists(subquery) == (subquery, ())


STATEMENTS = [
    ("SELECT k FROM t WHERE k IN ({}) ORDER BY k", [3, 1, 7, 2**40, -5]),
    ("SELECT k FROM t WHERE name IN ({}) ORDER BY k", ["one", "seven", "none", "it's"]),
    ("SELECT k FROM t WHERE k NOT IN ({}) ORDER BY k", [1, 3]),
    ("SELECT k FROM t WHERE k IN ({}) AND name <> ? ORDER BY k", [1, 3, 7]),
    ("SELECT k FROM t WHERE k IN ({}) ORDER BY k", [1, None, 3]),
    ("SELECT k FROM t WHERE k NOT IN ({}) ORDER BY k", [1, None]),
]


@pytest.mark.parametrize(("template", "values"), STATEMENTS)
def test_a_real_server_answers_as_sqlite(pg_server, template, values):
    url = pg_server.fresh(migrated=False)
    rows = [(1, "one"), (3, "three"), (7, "seven"), (2**40, "big"), (-5, "it's")]
    lite = sqlite3.connect(":memory:")
    pg = PgConnection(url)
    try:
        for conn in (lite, pg):
            conn.execute("CREATE TABLE t (k BIGINT PRIMARY KEY, name TEXT)")
            conn.executemany("INSERT INTO t (k, name) VALUES (?, ?)", rows)
        sql = template.format(",".join("?" * len(values)))
        params = [*values, "three"] if "name <>" in sql else values
        expected = [tuple(r) for r in lite.execute(sql, params).fetchall()]
        assert [tuple(r) for r in pg.execute(sql, params).fetchall()] == expected
    finally:
        pg.close()
        lite.close()
        pg_server.drop(url)
