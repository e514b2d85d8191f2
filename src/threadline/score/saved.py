"""What a scoring run saves for readers besides the scores: movement, itineraries, circuits, a
summary of every network for the triage queue, each linked ad's row and each person's
identifiers (`threadline.read.networks` reads them).

`score.movement` computes ``movement``, ``itineraries`` and ``circuits`` as temporary tables in
every scoring run; they are saved (``score_movement``, ``score_itineraries``, ``score_circuits``)
for the networks the run scored, like the scores, so a network's view reads them instead of
computing movement again. ``network_summary`` holds what the queue filters and sorts by (size,
first and last dates, last place, places, sources, hubs, when it last changed): computed over a
million ads on every request it would cost seconds; kept per network, a page of the queue is a
scan of one row per network. ``ad_summary`` (an ad as lists show it) and ``network_values`` (each
person's phones, e-mails, handles, names and images, counted, with dates) spare a network's view
the scans of every extraction that finding its ads' places, names and identifiers would cost.
"""

from __future__ import annotations

import duckdb

__all__ = ["refresh_network_summary", "save_movement"]


def save_movement(con: duckdb.DuckDBPyConnection, networks: str | None) -> None:
    """Save this session's ``movement``, ``itineraries`` and ``circuits`` (`movement_steps`) for
    the networks in table ``networks(network)`` and their persons (all of them if None), and drop
    the rows of networks and persons no longer linked. Inside the scoring run's transaction."""
    if networks:
        con.execute(
            f"""
            DELETE FROM score_movement
            WHERE network IN (SELECT network FROM {networks})
               OR network NOT IN (SELECT network FROM ad_links)
            """
        )
        for table in ("score_itineraries", "score_circuits"):
            con.execute(
                f"""
                DELETE FROM {table}
                WHERE (unit_kind = 'network' AND (unit IN (SELECT network FROM {networks})
                                                  OR unit NOT IN (SELECT network FROM ad_links)))
                   OR (unit_kind = 'person' AND (unit IN (SELECT person FROM score_links)
                                                 OR unit NOT IN (SELECT person FROM ad_links)))
                """
            )
    else:
        for table in ("score_movement", "score_itineraries", "score_circuits"):
            con.execute(f"DELETE FROM {table}")
    con.execute(
        """
        INSERT INTO score_movement
        SELECT network, places, moves, median_stay_days, max_km_per_day, foreign_code_share, origin,
               circuit, circuit_repeats
        FROM movement
        """
    )
    con.execute(
        """
        INSERT INTO score_itineraries
        SELECT unit_kind, unit, stay_no, place, country, first_seen, last_seen, ads FROM itineraries
        """
    )
    con.execute(
        """
        INSERT INTO score_circuits
        SELECT unit_kind, unit, circuit, cycle_len, laps, full_laps, start_stay, end_stay, missed, extra,
               median_dwell_days, simultaneous
        FROM circuits
        """
    )


def refresh_network_summary(con: duckdb.DuckDBPyConnection, networks: str | None = None) -> None:
    """Compute ``ad_summary``, ``network_values`` and ``network_summary`` again for the networks
    in table ``networks(network)`` (every network if None), and drop the rows of ads and networks
    no longer linked.

    An ad's *date* is when it was posted, else when it was captured; its *place* the first place
    extraction read from its latest version, else its location as given (as the read API shows
    ads); a network's ``last_place`` is its latest dated ad's. ``network_values`` counts each
    person's ads that hold a phone, e-mail, handle, name or image in any version (and in their
    latest), and (kind ``text``) the first sentence of each text linking lists as a hub or a
    writer's own; ``hubs`` counts the hub phones, e-mails, handles and images its ads hold (not
    the text hubs `threadline.read.networks.network_hubs` also lists: copied sentences are in
    most networks' ads, and a queue filter on them would keep nearly every network)."""
    where = f"WHERE network IN (SELECT network FROM {networks})" if networks else ""
    # The extractions the summaries read, of every version of the networks' ads: one pass over
    # the store's extractions, not one per summary.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_ext AS
        WITH r AS (
            SELECT r.source, r.id, r.version, COALESCE(r.posted_at, r.captured_at) AS dated
            FROM ad_rows r JOIN (SELECT DISTINCT source, id FROM ad_links {where}) o USING (source, id)
        )
        SELECT e.source, e.ad_id, e.version, e.kind, e.value, e.found_index, e.span_index, r.dated
        FROM extractions e
        JOIN r ON r.source = e.source AND r.id = e.ad_id AND r.version = e.version
        WHERE e.kind IN ('place', 'phone', 'email', 'handle', 'name', 'image')
           OR (e.kind = 'sentence'
               AND e.value IN (SELECT split_part(value, ' ', 1) FROM link_hubs WHERE kind = 'text'))
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _summary_ads AS
        WITH own AS (SELECT * FROM ad_links {where}),
        latest AS (
            SELECT r.source, r.id, MAX(r.version) AS version
            FROM ad_rows r JOIN own o ON o.source = r.source AND o.id = r.id GROUP BY ALL
        ), rows AS (
            SELECT o.ad_key, o.source, o.id, m.version, o.network, o.person,
                   COALESCE(a.posted_at, a.captured_at) AS date, a.location, a.url, a.ingested_at
            FROM own o
            JOIN latest m ON m.source = o.source AND m.id = o.id
            JOIN ads a ON a.source = m.source AND a.id = m.id AND a.version = m.version
        ), place AS (
            SELECT e.source, e.ad_id, arg_min(e.value, e.found_index) AS place
            FROM _summary_ext e
            JOIN rows s ON s.source = e.source AND s.id = e.ad_id AND s.version = e.version
            WHERE e.kind = 'place' AND e.span_index = 0
            GROUP BY e.source, e.ad_id
        )
        SELECT s.ad_key, s.source, s.id, s.version, s.network, s.person, s.date,
               COALESCE(p.place, s.location) AS place, s.url, s.ingested_at
        FROM rows s LEFT JOIN place p ON p.source = s.source AND p.ad_id = s.id
        """
    )
    if networks:
        # The networks summarised before and linked no more: every summary table holds only
        # networks ``network_summary`` lists (one anti-join, not one per table).
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _summary_gone AS
            SELECT network FROM {networks}
            UNION
            SELECT network FROM network_summary WHERE network NOT IN (SELECT network FROM ad_links)
            """
        )
    for table in ("ad_summary", "network_values", "network_summary"):
        if networks:
            con.execute(f"DELETE FROM {table} WHERE network IN (SELECT network FROM _summary_gone)")
        else:
            con.execute(f"DELETE FROM {table}")
    con.execute("DROP TABLE IF EXISTS _summary_gone")
    con.execute("INSERT INTO ad_summary SELECT * FROM _summary_ads")
    con.execute(
        """
        INSERT INTO network_values
        SELECT s.network, s.person, e.kind, e.value, COUNT(DISTINCT s.ad_key),
               COUNT(DISTINCT s.ad_key) FILTER (WHERE e.version = s.version),
               MIN(e.dated), MAX(e.dated)
        FROM _summary_ext e
        JOIN _summary_ads s ON s.source = e.source AND s.id = e.ad_id
        WHERE e.kind IN ('phone', 'email', 'handle', 'name', 'image')
        GROUP BY s.network, s.person, e.kind, e.value
        """
    )
    # The texts linking lists (hubs, and texts marked not hubs), by their first sentence's hash
    # (kind 'text'): so that a network's view finds its text hubs here, not in every sentence.
    con.execute(
        """
        INSERT INTO network_values
        SELECT s.network, s.person, 'text', e.value, COUNT(DISTINCT s.ad_key),
               COUNT(DISTINCT s.ad_key) FILTER (WHERE e.version = s.version),
               MIN(e.dated), MAX(e.dated)
        FROM _summary_ext e
        JOIN _summary_ads s ON s.source = e.source AND s.id = e.ad_id
        WHERE e.kind = 'sentence'  -- `_summary_ext` holds only those sentences
        GROUP BY s.network, s.person, e.value
        """
    )
    con.execute(
        f"""
        INSERT INTO network_summary
        WITH phones AS (
            SELECT network, COUNT(DISTINCT value) AS phones
            FROM network_values WHERE kind = 'phone' AND latest_ads > 0 {where.replace("WHERE", "AND")}
            GROUP BY network
        ), hubs AS (
            SELECT v.network, COUNT(DISTINCT (h.kind, h.value)) AS hubs
            FROM (
                SELECT kind, value, split_part(value, ' ', 1) AS plain FROM link_hubs
                WHERE is_hub AND kind <> 'text'
            ) h
            -- a phone's hub value names its tenure: "+18005550199 from 2026-08-01"
            JOIN network_values v ON v.kind = h.kind AND v.value = h.plain
            {where.replace("WHERE network", "WHERE v.network")}
            GROUP BY v.network
        )
        SELECT a.network, COUNT(*), COUNT(DISTINCT a.person), COALESCE(MIN(p.phones), 0),
               MIN(a.date), MAX(a.date), arg_max(a.place, a.date),
               list_sort(COALESCE(list(DISTINCT a.place) FILTER (WHERE a.place IS NOT NULL), [])),
               list_sort(list(DISTINCT a.source)), COALESCE(MIN(h.hubs), 0), MAX(a.ingested_at)
        FROM _summary_ads a
        LEFT JOIN phones p ON p.network = a.network
        LEFT JOIN hubs h ON h.network = a.network
        GROUP BY a.network
        """
    )
    con.execute("DROP TABLE _summary_ads")
    con.execute("DROP TABLE _summary_ext")
