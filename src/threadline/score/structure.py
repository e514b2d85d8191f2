"""Network structure: what an operation cannot hide however it words its ads.

Set-based SQL through the linking `Engine` seam, over the store's saved link results. Each
feature is a number per network, with a short detail an analyst can check:

* ``persons_per_phone``: the most distinct persons (and self-stated names) advertised under one
  phone number: one phone answering for several women is a controller's (Ibanez & Suthers 2014;
  Polaris Project's typology).
* ``phones_per_person``: the most phone numbers one person was advertised with.
* ``rotated_phones``: phone numbers each used in one city only, in a network seen in several
  cities (a new number in each city) beyond the first.
* ``places`` and ``moves`` come from `movement`; this module adds none of them.
* ``shared_text_persons``: persons whose ads carry one writer's near-duplicate text: a text beside
  no more phone numbers than the network holds (a popular text others copy does not count, so a
  false join of two copiers cannot raise it).
* ``hours_covered``: distinct hours of the day with posts, once a network has 24 ads or more
  (operations post around the clock; one woman rarely does).
* ``cheap_share``: how far the network's median hourly price is below the local median (0..1),
  a weak hypothesis (prices well under the market are reported in case studies, not measured).

Hub phones (site footers, switchboards) are never counted: they are not the network's own.
"""

from __future__ import annotations

from threadline.engine import Engine
from threadline.link.steps import input_rows

__all__ = ["STRUCTURE_FEATURES", "local_prices", "scope_tables", "structure_features"]

STRUCTURE_FEATURES = (
    "persons_per_phone",
    "phones_per_person",
    "rotated_phones",
    "shared_text_persons",
    "hours_covered",
    "cheap_share",
)


def local_prices(engine: Engine, prices: str | None = None) -> None:
    """Table ``_local_prices(place, median, ads)``: every linked ad's hourly price (its latest
    version, from ``link_ads``: `link.steps.build_inputs`) by the place its site lists it in (the
    local market, whatever is being scored).

    Also ``_ad_prices(source, ad_id, version, per_hour, place)``: each priced latest version with
    the place `structure_features` gives it (the site's, else the first named), which
    `scope_tables` reads to find the networks a moved median rescores.

    ``prices``: a relation of those prices as `link.steps.input_rows` reads them (the store's kept
    copy: `link.kept`); read from the store's ``extractions`` when None.
    """
    rows = prices or f"({input_rows(engine, 'link_ads')['prices']})"
    engine.table(
        "_ad_prices",
        f"SELECT source, ad_id, version, per_hour, site_place, place FROM {rows} p",
    )
    engine.table(
        "_local_prices",
        """
        SELECT site_place AS place, MEDIAN(per_hour) AS median, COUNT(*) AS ads
        FROM _ad_prices WHERE site_place IS NOT NULL
        GROUP BY site_place
        """,
    )


def scope_tables(engine: Engine, networks: str | None = None, cheap_floor: float | None = None) -> None:
    """Tables ``score_links`` and ``score_link_ads``: the linked ads to score, and their link inputs.

    All of ``ad_links``, or the networks listed in table ``networks(network)`` (those a link run
    changed) and the networks whose ``cheap_share`` a moved local price median changes, so that
    a partial run gives what a full one would (tested). Local medians (``_local_prices``, against
    ``score_local_prices``, what the last run compared with) feed nothing else, and
    ``cheap_share`` only through its part above the weight's floor (``cheap_floor``; None: the
    weights have no such feature, so a median feeds no score): a network with a priced ad in a
    place whose median (or whether it has the 20 ads to count) moved is scored again only if the
    last run saved a ``cheap_share`` part for it or its value with the new medians is above the
    floor. Below it both times, its score, parts and saved rows are what a full run gives
    anyway. Also ``score_hub_phones``: the numbers that are hubs. Needs this session's link
    inputs (`link.steps.build_inputs`) and `local_prices`.
    """
    if networks:
        engine.table(
            "_price_networks",
            """
            WITH moved AS (
                SELECT COALESCE(n.place, o.place) AS place FROM _local_prices n
                FULL OUTER JOIN score_local_prices o ON o.place = n.place
                WHERE n.median IS DISTINCT FROM o.median OR (n.ads >= 20) IS DISTINCT FROM (o.ads >= 20)
            ), priced AS (
                SELECT l.network, p.place, p.per_hour
                FROM ad_links l
                JOIN link_ads a ON a.ad_key = l.ad_key
                JOIN _ad_prices p ON p.source = a.source AND p.ad_id = a.id AND p.version = a.version
            ), touched AS (
                SELECT DISTINCT network FROM priced WHERE place IN (SELECT place FROM moved)
            )
            SELECT r.network, MEDIAN(r.per_hour / m.median) AS ratio
            FROM priced r JOIN _local_prices m ON m.place = r.place
            WHERE r.network IN (SELECT network FROM touched) AND m.ads >= 20  -- as `structure_features`
            GROUP BY r.network
            UNION ALL
            -- touched networks left with no price to compare: no part now (had they one before?)
            SELECT network, CAST(NULL AS DOUBLE) FROM touched
            """,
        )
        # (a margin below the floor: a value a rounding away from it is scored again, never missed)
        above = (
            "FALSE" if cheap_floor is None else f"GREATEST(0.0, 1.0 - ratio) > {float(cheap_floor)!r} - 1e-9"
        )
        engine.table(
            "_score_networks",
            f"""
            SELECT network FROM {networks}
            UNION
            SELECT DISTINCT network FROM _price_networks
            WHERE network IN (
                      SELECT unit FROM score_parts WHERE level = 'network' AND feature = 'cheap_share'
                  )
               OR (ratio IS NOT NULL AND {above})
            """,
        )
        networks = "_score_networks"
    # Phone numbers that are hubs in any tenure (``link_hubs`` lists a value per tenure, as
    # "+17135550142 from 2026-08-03"): never a network's own.
    engine.table(
        "score_hub_phones",
        """
        SELECT DISTINCT CASE WHEN instr(value, ' ') > 0 THEN substr(value, 1, instr(value, ' ') - 1)
                             ELSE value END AS phone
        FROM link_hubs WHERE kind = 'phone' AND is_hub
        """,
    )
    where = f"WHERE network IN (SELECT network FROM {networks})" if networks else ""
    engine.table("score_links", f"SELECT * FROM ad_links {where}")
    engine.table(
        "score_link_ads",
        "SELECT l.* FROM link_ads l JOIN score_links s ON s.ad_key = l.ad_key"
        if networks
        else "SELECT * FROM link_ads",
    )


def structure_features(engine: Engine) -> None:
    """Tables ``score_ads`` (one row per linked ad) and ``structure(network, feature, value, detail)``."""
    place_source = engine.json_text("e.detail", "source")
    per_hour = engine.json_text("e.detail", "per_hour")
    engine.table(
        "_score_base",
        """
        SELECT l.ad_key, l.source, l.id, l.version, s.network, s.person, l.posted_at
        FROM score_links s JOIN score_link_ads l ON l.ad_key = s.ad_key
        """,
    )
    engine.table(
        "score_ads",
        f"""
        WITH found AS (
            SELECT b.ad_key, e.kind, e.value, e.detail
            FROM _score_base b
            JOIN extractions e ON e.source = b.source AND e.ad_id = b.id AND e.version = b.version
            WHERE e.kind IN ('place', 'price')
        ), places AS (
            -- The site's own location field wins over a city named in the text (which may be
            -- where she is going, or a stock line).
            SELECT e.ad_key,
                   MIN(e.value) FILTER (WHERE {place_source} = 'location') AS site_place,
                   MIN(e.value) AS any_place
            FROM found e WHERE e.kind = 'place'
            GROUP BY e.ad_key
        ), prices AS (
            SELECT e.ad_key, MEDIAN(CAST({per_hour} AS DOUBLE)) AS per_hour
            FROM found e WHERE e.kind = 'price' AND {per_hour} IS NOT NULL
            GROUP BY e.ad_key
        )
        SELECT b.ad_key, b.source, b.id, b.version, b.network, b.person, b.posted_at,
               EXTRACT(hour FROM b.posted_at) AS hour,
               COALESCE(p.site_place, p.any_place) AS place,
               pr.per_hour
        FROM _score_base b
        LEFT JOIN places p ON p.ad_key = b.ad_key
        LEFT JOIN prices pr ON pr.ad_key = b.ad_key
        """,
    )
    engine.table(
        "score_phones",
        """
        SELECT DISTINCT s.ad_key, s.network, s.person, s.place, p.plain AS phone
        FROM score_ads s JOIN link_sightings p ON p.ad_key = s.ad_key AND p.kind = 'phone'
        WHERE p.plain NOT IN (SELECT phone FROM score_hub_phones)
        """,
    )
    engine.table(
        "structure",
        """
        WITH per_phone AS (
            SELECT p.network, p.phone, COUNT(DISTINCT p.person) AS persons, COUNT(DISTINCT n.name) AS names
            FROM score_phones p LEFT JOIN link_names n ON n.ad_key = p.ad_key
            GROUP BY p.network, p.phone
        ), per_phone_max AS (
            -- the phone with the most persons or names (ties: the smallest number, so that every
            -- run names the same one)
            SELECT network, value, phone, persons, names FROM (
                SELECT network, GREATEST(persons, names) AS value, phone, persons, names,
                       row_number() OVER (
                           PARTITION BY network ORDER BY GREATEST(persons, names) DESC, phone
                       ) AS rank
                FROM per_phone
            ) AS ranked WHERE rank = 1
        ), per_person AS (
            SELECT network, person, COUNT(DISTINCT phone) AS phones
            FROM score_phones GROUP BY network, person
        ), per_person_max AS (
            SELECT network, MAX(phones) AS value FROM per_person GROUP BY network
        ), network_places AS (
            SELECT network, COUNT(DISTINCT place) AS places FROM score_ads GROUP BY network
        ), phone_places AS (
            SELECT network, phone, COUNT(DISTINCT place) AS places
            FROM score_phones WHERE place IS NOT NULL GROUP BY network, phone
        ), rotated AS (
            SELECT p.network, GREATEST(COUNT(*) - 1, 0) AS value
            FROM phone_places p JOIN network_places n ON n.network = p.network
            WHERE p.places = 1 AND n.places >= 2
            GROUP BY p.network
        ), network_phones AS (
            -- every number beside the network's ads, hubs too, as a text's holders are counted
            SELECT s.network, COUNT(DISTINCT p.plain) AS phones
            FROM score_ads s JOIN link_sightings p ON p.ad_key = s.ad_key AND p.kind = 'phone'
            GROUP BY s.network
        ), own_text_pairs AS (
            -- A text beside more numbers than the network holds reaches beyond it: others write
            -- it too (a popular text), so two persons sharing it need not share a writer. Only a
            -- text the network could hold alone counts (a template beside its own numbers).
            SELECT sa.network, sa.person AS person_a, sb.person AS person_b
            FROM link_text_pairs t
            JOIN score_ads sa ON sa.ad_key = t.ad_a JOIN score_ads sb ON sb.ad_key = t.ad_b
            LEFT JOIN network_phones np ON np.network = sa.network
            WHERE sa.network = sb.network AND sa.person <> sb.person
              AND COALESCE(t.holders, 0) <= COALESCE(np.phones, 0)
        ), text_persons AS (
            SELECT network, COUNT(DISTINCT person) AS value FROM (
                SELECT network, person_a AS person FROM own_text_pairs
                UNION ALL SELECT network, person_b FROM own_text_pairs
            ) GROUP BY network
        ), hours AS (
            SELECT network, COUNT(DISTINCT hour) AS value, COUNT(*) AS ads
            FROM score_ads WHERE hour IS NOT NULL GROUP BY network HAVING COUNT(*) >= 24
        ), network_prices AS (
            SELECT s.network, MEDIAN(s.per_hour / l.median) AS ratio
            FROM score_ads s JOIN _local_prices l ON l.place = s.place
            WHERE s.per_hour IS NOT NULL AND l.ads >= 20  -- (scope_tables knows this 20)
            GROUP BY s.network
        )
        SELECT network, 'persons_per_phone' AS feature, CAST(value AS DOUBLE) AS value,
               phone || ': ' || CAST(persons AS STRING) || ' persons, ' || CAST(names AS STRING)
               || ' names' AS detail
        FROM per_phone_max
        UNION ALL
        SELECT network, 'phones_per_person', CAST(value AS DOUBLE), NULL FROM per_person_max
        UNION ALL
        SELECT network, 'rotated_phones', CAST(value AS DOUBLE), NULL FROM rotated
        UNION ALL
        SELECT network, 'shared_text_persons', CAST(value AS DOUBLE), NULL FROM text_persons
        UNION ALL
        SELECT network, 'hours_covered', CAST(value AS DOUBLE), CAST(ads AS STRING) || ' ads' FROM hours
        UNION ALL
        SELECT network, 'cheap_share', GREATEST(0.0, 1.0 - ratio),
               'median price ' || CAST(ROUND(100 * ratio) AS STRING) || '% of local' FROM network_prices
        """,
    )
