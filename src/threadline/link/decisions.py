"""Analysts' decisions about linking, kept in the store so that every later run honours them.

A mark says a value is (or is not) a hub whatever the data says; a merge says two ads belong to
one network. Linking reads both (`steps.detect_hubs`, `steps.link_components`); nothing else
writes them, so the command line and a workspace record decisions the same way.
"""

from __future__ import annotations

import duckdb

__all__ = ["HUB_KINDS", "UnknownAd", "clear_hub_mark", "mark_hub", "record_merge"]

HUB_KINDS = ("phone", "email", "handle", "image")


class UnknownAd(LookupError):
    """A decision named an ad the store does not hold."""


def mark_hub(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    value: str,
    *,
    is_hub: bool,
    analyst: str,
    note: str | None = None,
) -> None:
    """Record that ``value`` is a hub (never used for linking) or is not one (trusted)."""
    if kind not in HUB_KINDS:
        raise ValueError(f"kind must be one of {', '.join(HUB_KINDS)}, not {kind!r}")
    clear_hub_mark(con, kind, value)
    con.execute(
        "INSERT INTO hub_marks VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)", [kind, value, is_hub, analyst, note]
    )


def clear_hub_mark(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> None:
    """Forget an analyst's mark: the data decides again."""
    con.execute("DELETE FROM hub_marks WHERE kind = ? AND value = ?", [kind, value])


def record_merge(
    con: duckdb.DuckDBPyConnection,
    ad_a: tuple[str, str],
    ad_b: tuple[str, str],
    *,
    analyst: str,
    note: str | None = None,
) -> None:
    """Record that ads ``(source, id)`` ``ad_a`` and ``ad_b`` belong to one network."""
    for source, ad_id in (ad_a, ad_b):
        if not con.execute("SELECT 1 FROM ads WHERE source = ? AND id = ?", [source, ad_id]).fetchall():
            raise UnknownAd(f"no ad {source}:{ad_id}")
    con.execute(
        "INSERT INTO link_decisions VALUES ('merge', ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [*ad_a, *ad_b, analyst, note],
    )
