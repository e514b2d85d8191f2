"""The one seam between the set-based steps and the engine that runs them.

Linking (`threadline.link`), scoring and movement (`threadline.score`) are sequences of steps,
each a SQL query that materialises a named table, written once. An engine only knows how to run
SQL, how to spell the few functions whose names differ between dialects (this Protocol is the one
place that says which: no step tests which engine it runs on), how to find connected components,
and how to run Python over rows. DuckDB runs the steps on one machine (`DuckDBEngine`, here); a
Spark engine runs the same steps on a cluster (`threadline.engines.spark.SparkEngine`), as
splink's `DatabaseAPI` does for its backends. The batch pipelines that use them are in
`threadline.engines`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import duckdb
import numpy as np

__all__ = ["DuckDBEngine", "Engine", "components_sql", "drop_run_tables", "sql_literal", "write_rows"]


class Engine(Protocol):
    """What a linking step needs from an engine."""

    dialect: str

    def table(self, name: str, sql: str) -> None:
        """Materialise the result of ``sql`` as table ``name``, replacing any table of that name."""

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a (small) result."""

    def drop(self, *names: str) -> None:
        """Forget tables a step no longer needs (their memory goes back to the next steps)."""

    def hex64(self, expr: str) -> str:
        """SQL turning 16 hex characters into an unsigned 64-bit integer."""

    def popcount_xor(self, a: str, b: str) -> str:
        """SQL counting the differing bits of two unsigned 64-bit integers."""

    def json_text(self, expr: str, key: str) -> str:
        """SQL reading the string member ``key`` of the JSON object ``expr`` (NULL if absent)."""

    def epoch(self, expr: str) -> str:
        """SQL: seconds since 1970 of the TIMESTAMP ``expr``, as a DOUBLE."""

    def median(self, expr: str) -> str:
        """SQL aggregate: the median of ``expr`` (interpolated between the middle two)."""

    def ordered_list(self, value: str, order: str) -> str:
        """SQL aggregate: the group's values as a list, in ``order``."""

    def ordered_join(self, value: str, order: str, sep: str) -> str:
        """SQL aggregate: the group's string values joined by ``sep``, in ``order``."""

    def grouped_int(self, expr: str) -> str:
        """SQL: the integer ``expr`` as text with thousands separators (4,000)."""

    def splink_backend(self) -> Any:
        """splink's database API for this engine (splink runs its own SQL through it)."""

    def connected_components(self, edges: str, nodes: str, out: str) -> None:
        """Table ``out(node, component)``: for every node of table ``nodes(node)`` the smallest
        node reachable from it over the undirected edges of table ``edges(a, b)``."""

    def map_rows(
        self,
        name: str,
        sql: str,
        fn: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
        columns: Sequence[tuple[str, str]],
        batch: int = 5000,
    ) -> None:
        """Table ``name`` (``columns``: name, SQL type): ``fn`` applied to the rows of ``sql``, a
        batch at a time (a pure function of each batch's rows, each row on its own), where the
        engine runs Python: in this process, or on a cluster's executors."""


def components_sql(engine: Engine, edges: str, nodes: str, out: str, max_rounds: int = 200) -> None:
    """Connected components with SQL only: min-label propagation with pointer jumping.

    Each round gives every node the smallest label among itself and its neighbours, then the label
    of its label (which halves path lengths), until nothing changes. Any engine can run it; it is
    how a cluster engine finds components without a single-machine step.
    """
    engine.table("_cc_edges", f"SELECT a, b FROM {edges} UNION SELECT b AS a, a AS b FROM {edges}")
    engine.table("_cc_labels", f"SELECT node, node AS label FROM {nodes}")
    for _ in range(max_rounds):
        engine.table(
            "_cc_next",
            """
            WITH spread AS (
                SELECT e.a AS node, MIN(l.label) AS label
                FROM _cc_edges e JOIN _cc_labels l ON e.b = l.node
                GROUP BY e.a
            ), merged AS (
                SELECT l.node, LEAST(l.label, COALESCE(s.label, l.label)) AS label
                FROM _cc_labels l LEFT JOIN spread s ON l.node = s.node
            )
            SELECT m.node, LEAST(m.label, j.label) AS label
            FROM merged m JOIN merged j ON m.label = j.node
            """,
        )
        [(changed,)] = engine.query(
            "SELECT COUNT(*) FROM _cc_next n JOIN _cc_labels l ON n.node = l.node WHERE n.label <> l.label"
        )
        engine.table("_cc_labels", "SELECT * FROM _cc_next")
        if changed == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    engine.table(out, "SELECT node, label AS component FROM _cc_labels")


class DuckDBEngine:
    """Runs linking steps in an embedded DuckDB connection (the store's own)."""

    dialect = "duckdb"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, sql_components: bool = False, keep_tables: bool = False
    ) -> None:
        self.con = con
        self.sql_components = sql_components
        self.keep_tables = keep_tables  # keep intermediate tables for inspection (tests, benchmarks)

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def drop(self, *names: str) -> None:
        if self.keep_tables:
            return
        for name in names:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def hex64(self, expr: str) -> str:
        return f"('0x' || {expr})::UBIGINT"

    def popcount_xor(self, a: str, b: str) -> str:
        return f"CAST(bit_count(xor({a}, {b})) AS INTEGER)"

    def json_text(self, expr: str, key: str) -> str:
        return f"json_extract_string({expr}, '$.{key}')"

    def epoch(self, expr: str) -> str:
        return f"epoch({expr})"

    def median(self, expr: str) -> str:
        return f"quantile_cont({expr}, 0.5)"

    def ordered_list(self, value: str, order: str) -> str:
        return f"list({value} ORDER BY {order})"

    def ordered_join(self, value: str, order: str, sep: str) -> str:
        return f"string_agg({value}, '{sep}' ORDER BY {order})"

    def grouped_int(self, expr: str) -> str:
        return f"format('{{:,}}', {expr})"

    def splink_backend(self) -> Any:
        from splink import DuckDBAPI

        class TempDuckDBAPI(DuckDBAPI):
            """splink's DuckDB backend, making TEMP tables: nothing reaches the store file."""

            def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
                self.delete_table_from_database(physical_name)
                return f"CREATE TEMP TABLE {physical_name} AS {sql}"

        return TempDuckDBAPI(connection=self.con)

    def connected_components(self, edges: str, nodes: str, out: str) -> None:
        if self.sql_components:
            components_sql(self, edges, nodes, out)
            return
        # One machine: a sparse-graph routine over the whole edge list at once (vectorised, no
        # per-ad Python loop), labelled like the SQL version with the smallest node.
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        node_ids = self.con.execute(f"SELECT node FROM {nodes} ORDER BY node").fetchnumpy()["node"]
        node_ids = np.asarray(node_ids, dtype=np.int64)
        edge_cols = self.con.execute(f"SELECT a, b FROM {edges}").fetchnumpy()
        a = np.searchsorted(node_ids, np.asarray(edge_cols["a"], dtype=np.int64))
        b = np.searchsorted(node_ids, np.asarray(edge_cols["b"], dtype=np.int64))
        n = len(node_ids)
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        # Smallest node of each component: node_ids is sorted, so the first index seen wins.
        first = np.full(labels.max() + 1 if n else 0, -1, dtype=np.int64)
        order = np.arange(n)[::-1]
        first[labels[order]] = order
        component = node_ids[first[labels]]
        import pyarrow as pa

        result = pa.table({"node": node_ids, "component": component})  # noqa: F841 (read by DuckDB)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM result")

    def map_rows(
        self,
        name: str,
        sql: str,
        fn: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
        columns: Sequence[tuple[str, str]],
        batch: int = 5000,
    ) -> None:
        out: list[tuple[Any, ...]] = []
        cursor = self.con.execute(sql)
        while rows := cursor.fetchmany(batch):
            out.extend(fn(rows))
        result = arrow_rows(out, columns)  # noqa: F841 (read by DuckDB)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM result")


ARROW_TYPES = {"BIGINT": "int64", "DOUBLE": "float64", "STRING": "string", "BOOLEAN": "bool_"}


def drop_run_tables(con: duckdb.DuckDBPyConnection) -> int:
    """Drop every temporary table on ``con``; returns how many.

    A link or scoring run leaves its step tables behind (tests and the next step of the same
    command read them). A process that runs one ingest after another all day (the service's
    writer) calls this when a run's link and score are saved, so that memory holds the store,
    not the last run's intermediate results.
    """
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND database_name = 'temp'"
        ).fetchall()
    ]
    for name in names:
        con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
    return len(names)


def arrow_schema(columns: Sequence[tuple[str, str]]) -> Any:
    """The Arrow schema of ``columns`` (name, SQL type among `ARROW_TYPES`)."""
    import pyarrow as pa

    return pa.schema([(col, getattr(pa, ARROW_TYPES[kind])()) for col, kind in columns])


def arrow_rows(rows: Sequence[tuple[Any, ...]], columns: Sequence[tuple[str, str]]) -> Any:
    """``rows`` as an Arrow table typed as ``columns``."""
    import pyarrow as pa

    names = [col for col, _ in columns]
    return pa.Table.from_pydict(
        {col: [row[i] for row in rows] for i, col in enumerate(names)}, schema=arrow_schema(columns)
    )


WRITE_CHUNK = 2000  # rows per VALUES statement when results go back to the engine


def sql_literal(value: Any) -> str:
    """A SQL literal both dialects read alike (no quote doubling: Spark reads '' differently)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    pieces: list[str] = []
    chunk = ""
    for ch in text:
        if ch in "'\\":
            if chunk:
                pieces.append(f"'{chunk}'")
                chunk = ""
            pieces.append(f"chr({ord(ch)})")
        else:
            chunk += ch
    if chunk:
        pieces.append(f"'{chunk}'")
    return "concat(" + ", ".join(pieces) + ")"


def write_rows(
    engine: Engine, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """Materialise ``rows`` (computed in Python) as table ``name`` through the engine's SQL, typed
    as ``columns`` (name, SQL type) even when there are none: the one way a step hands the few
    results it computes in Python (a cut, phone homes, weights) back to any engine."""
    typed = ", ".join(f"CAST({col} AS {kind}) AS {col}" for col, kind in columns)
    names = ", ".join(col for col, _ in columns)
    if not rows:
        nulls = ", ".join(f"CAST(NULL AS {kind}) AS {col}" for col, kind in columns)
        engine.table(name, f"SELECT {nulls} WHERE 1 = 0")
        return
    parts: list[str] = []
    for k in range(0, len(rows), WRITE_CHUNK):
        chunk = rows[k : k + WRITE_CHUNK]
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in chunk)
        part = f"_{name}_part{len(parts)}"
        engine.table(part, f"SELECT {typed} FROM (VALUES {values}) AS t({names})")
        parts.append(part)
    engine.table(name, " UNION ALL ".join(f"SELECT * FROM {p}" for p in parts))
