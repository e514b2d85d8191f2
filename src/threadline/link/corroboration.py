"""Weak corroboration: the same uncommon name, the same age, the same city, a few days apart.

Two ads that state the same self-stated name, the same age (or one year apart), in the same city
within a few days are probably one person even when phone, photos and text all differ (a re-post
under a new burner number). How probable depends above all on how common the name is: "Kiara, 23,
Dallas" twice in two days is telling, "Mia, 24, Houston" is not. That is a Fellegi-Sunter model
with term-frequency adjustments, which splink (v4) implements; it runs here on the store's own
DuckDB connection (every table it makes is a TEMP table, so nothing lands in the store file and a
read-only store works too), or for the Spark engine on splink's Spark backend.

Records: one per ad and self-stated name (``link_names``), with the city the site's location field
resolves to (the ``place`` extraction of field ``location``), the ad's age if it states exactly one
(``age`` extractions) and its posting time. Ads without a name, city or posting time take no part.

Model, fixed so that the same data always gives the same pairs (a full run and a series of
incremental runs over the same ads agree):

* Blocking: same name, same city, at most ``corroboration_window_days`` apart (two staggered time
  grids of twice the window, so every pair within the window shares a cell of one of them). Only
  those pairs are scored: linear in the ads, never all pairs.
* Comparisons: name and city exact, with term-frequency adjustment (the Bayes factor of an exact
  match is m / the value's share of the records); age exact, one year apart, other, unknown; time
  within a day, within the window.
* m probabilities: fixed (`M_PROBABILITIES`), not trained: they say what one person's ads look
  like, not what this corpus happens to hold, and EM would make every run depend on the data's
  own clusters.
* u probabilities: splink's random sampling, on a deterministic sample (the
  ``corroboration_u_sample`` records with the smallest hash of their ad key, all pairs of them),
  so that the sample does not depend on thread scheduling or row order.
* Prior: two random ads are the same person with probability ``corroboration_ads_per_person`` /
  records (a person posts that many ads on average).

Output: ``corroboration_pairs(ad_a, ad_b, match_probability, detail, name, city)`` with
``ad_a < ad_b`` (ad keys), the pairs scored at least ``corroboration_min_probability``, the
best-scoring name per ad pair, ``detail`` the reason in words ("name Kiara (1 in 4,000 ads), age
23, Dallas, TX, US, 2 days apart").

How it enters linking: mostly as evidence. On the quality corpus (seed 4242, 20k ads) nearly
every pair it finds is already joined by phones, photos or text (7,413 of 7,449 pairs at 0.99, all
of them right); of the 36 pairs between different networks only 7 are one person, and as network
edges they lower B-cubed precision from 0.9953 to 0.9939 for a recall gain of 0.0004. What other
signals leave apart is mostly chance: namesakes of one age posting in one city in the same days.
So two ads that each show something to link by are never joined by corroboration alone.
`save_corroboration` records the pairs in ``link_evidence``: per network the corroborated name and
city (``corroboration``), and every pair between two persons (``corroboration_lead``: a lead for an
analyst, who can merge).

The one join it makes: an ad that shows nothing another ad shows (no number, or only the site's
hotline; "text me on snap" without the handle) joins the group of the ads that corroborate it, when
two of them or more do and they are all one group (`orphan_pairs`, `steps.link_components`; an
incremental run clusters again both ends of every such pair that appeared or went, with the last
run's pairs kept in ``link_orphan_pairs``; the evidence of each join, whose probability moves with
every new ad of the name, is written again for every network like the other corroboration rows).
On the generator's corpora without photos every such join was right (35, 30 and 40 at 0, 30 and
50% of copiers, one corroborating ad or more); on the corpus written apart from it, one of one was
wrong (two operations' workers, one corroborating ad), hence two.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from threadline.engine import DuckDBEngine, Engine
from threadline.link.steps import LinkParams
from threadline.store._tx import listened, network_tags, touched

__all__ = [
    "M_PROBABILITIES",
    "corroboration_evidence",
    "corroboration_pairs",
    "corroboration_settings",
    "orphan_pairs",
    "save_corroboration",
]

DAY = 86400

# m: how likely each comparison level is for two ads of one person (levels in order, the null
# level excepted). Names: an ad keeps the name (an operation's persons change it now and then);
# city: a person mostly stays, some tour; age: stated the same, sometimes a year off (a birthday, a
# rounded figure), rarely further; time: of two ads of one person, few are within a day or within
# the window. The blocking keeps only exact names and cities, so their other level is never seen.
M_PROBABILITIES: dict[str, list[float]] = {
    "name": [0.9, 0.1],
    "city": [0.85, 0.15],
    "age": [0.85, 0.1, 0.05],
    "posted": [0.15, 0.15, 0.7],
}
_SEED = 20240611  # splink's sampling seed; the sample itself is the fixed hash-ordered set


def corroboration_settings(params: LinkParams, records: int) -> dict[str, Any]:
    """splink settings of the model (u probabilities still to be estimated)."""
    window = int(params.corroboration_window_days * DAY)
    m = M_PROBABILITIES

    def exact(column: str) -> dict[str, Any]:
        return {
            "output_column_name": column,
            "comparison_levels": [
                {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True},
                {
                    "sql_condition": f"{column}_l = {column}_r",
                    "label_for_charts": f"same {column}",
                    "m_probability": m[column][0],
                    "tf_adjustment_column": column,
                    "tf_adjustment_weight": 1.0,
                    "fix_m_probability": True,
                },
                {"sql_condition": "ELSE", "label_for_charts": "other", "m_probability": m[column][1]},
            ],
        }

    def levels(column: str, conditions: list[tuple[str, str]]) -> dict[str, Any]:
        out: list[dict[str, Any]] = [
            {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True}
        ]
        for (condition, label), m_probability in zip(
            [*conditions, ("ELSE", "other")], m[column], strict=True
        ):
            out.append(
                {
                    "sql_condition": condition,
                    "label_for_charts": label,
                    "m_probability": m_probability,
                    "fix_m_probability": True,
                }
            )
        return {"output_column_name": column, "comparison_levels": out}

    grid = (
        "l.name = r.name AND l.city = r.city AND l.{cell} = r.{cell} AND abs(l.posted - r.posted) <= {window}"
    )
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": min(0.5, params.corroboration_ads_per_person / records),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": grid.format(cell=cell, window=window)} for cell in ("cell0", "cell1")
        ],
        "comparisons": [
            exact("name"),
            exact("city"),
            levels("age", [("age_l = age_r", "same age"), ("abs(age_l - age_r) <= 1", "a year apart")]),
            levels(
                "posted",
                [
                    (f"abs(posted_l - posted_r) <= {DAY}", "within a day"),
                    (f"abs(posted_l - posted_r) <= {window}", "within the window"),
                ],
            ),
        ],
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": ["ad_key"],
    }


def corroboration_pairs(engine: Engine, params: LinkParams) -> None:
    """Table ``corroboration_pairs(ad_a, ad_b, match_probability, detail, name, city)`` (see the
    module docstring).

    Needs ``link_ads``, ``link_names`` and ``link_facts`` (`steps.build_inputs`).
    splink runs on a DuckDB engine's connection; another engine would hand splink its own backend
    (splink's ``SparkAPI`` for a Spark engine).
    """
    window = int(params.corroboration_window_days * DAY)
    if window <= 0:
        raise ValueError("corroboration_window_days must be positive")
    if params.corroboration_u_sample < 2:
        raise ValueError("corroboration_u_sample must be at least 2 records (one pair)")
    # Whole seconds since 1970 (posting times carry no fractions of a second here).
    epoch = engine.epoch("l.posted_at")
    engine.table(
        "_corr_records",
        f"""
        WITH records AS (
            SELECT n.ad_key, n.name, f.city, CASE WHEN f.ages = 1 THEN f.age END AS age,
                   CAST({epoch} AS BIGINT) AS posted
            FROM link_names n
            JOIN link_ads l ON l.ad_key = n.ad_key
            JOIN link_facts f ON f.ad_key = n.ad_key
            WHERE f.city IS NOT NULL AND l.posted_at IS NOT NULL
        )
        -- Ids in the order of (ad, name), numbered per ad: no window over all records, which
        -- would gather them on one task of a cluster engine. An ad's names are far fewer than 2^20.
        SELECT ad_key * 1048576 + row_number() OVER (PARTITION BY ad_key ORDER BY name) AS unique_id,
               ad_key, name, city, age, posted,
               CAST(floor(posted / {2 * window}) AS BIGINT) AS cell0,
               CAST(floor((posted + {window}) / {2 * window}) AS BIGINT) AS cell1
        FROM records
        """,
    )
    [(records,)] = engine.query("SELECT COUNT(*) FROM _corr_records")
    if records < 2:
        engine.table(
            "corroboration_pairs",
            """
            SELECT CAST(NULL AS BIGINT) AS ad_a, CAST(NULL AS BIGINT) AS ad_b,
                   CAST(NULL AS DOUBLE) AS match_probability, CAST(NULL AS STRING) AS detail,
                   CAST(NULL AS STRING) AS name, CAST(NULL AS STRING) AS city
            WHERE false
            """,
        )
        return
    # The u sample: a fixed hash of the ad key orders the records (a linear congruential step
    # modulo 2^31 - 1, whose products stay below 2^63 in every engine).
    engine.table(
        "_corr_sample",
        f"""
        SELECT * FROM _corr_records
        ORDER BY ((ad_key % 2147483647) * 1103515245 + 12345) % 2147483647, unique_id
        LIMIT {params.corroboration_u_sample}
        """,
    )
    predictions = _predict(engine, params, int(records))
    engine.table(
        "_corr_names",
        "SELECT name, COUNT(*) AS records FROM _corr_records GROUP BY name",
    )
    one_in = f"CAST(round({records} / n.records) AS BIGINT)"
    # 4,000 with a thousands separator (Spark's format_number groups the same way).
    grouped = engine.grouped_int(one_in)
    engine.table(
        "corroboration_pairs",
        f"""
        WITH scored AS (
            SELECT LEAST(p.ad_key_l, p.ad_key_r) AS ad_a, GREATEST(p.ad_key_l, p.ad_key_r) AS ad_b,
                   p.match_probability, p.name_l AS name, p.city_l AS city, p.age_l, p.age_r,
                   abs(p.posted_l - p.posted_r) AS apart
            FROM {predictions} p
            WHERE p.ad_key_l <> p.ad_key_r
        ), best AS (
            SELECT *, row_number() OVER (
                PARTITION BY ad_a, ad_b ORDER BY match_probability DESC, name
            ) AS rank
            FROM scored
        )
        SELECT b.ad_a, b.ad_b, b.match_probability,
               'name ' || b.name || ' (1 in '
               || {grouped} || ' ads), '
               || CASE
                    WHEN b.age_l IS NULL AND b.age_r IS NULL THEN 'no age'
                    WHEN b.age_l IS NULL OR b.age_r IS NULL
                    THEN 'age ' || CAST(COALESCE(b.age_l, b.age_r) AS STRING) || ' in one ad only'
                    WHEN b.age_l = b.age_r THEN 'age ' || CAST(b.age_l AS STRING)
                    ELSE 'ages ' || CAST(LEAST(b.age_l, b.age_r) AS STRING) || ' and '
                         || CAST(GREATEST(b.age_l, b.age_r) AS STRING)
                  END
               || ', ' || b.city || ', '
               || CASE
                    WHEN b.apart < 3600 THEN 'within the hour'
                    WHEN b.apart < {DAY}
                    THEN CAST(CAST(floor(b.apart / 3600) AS BIGINT) AS STRING) || ' hours apart'
                    ELSE CAST(floor(b.apart / {DAY} * 10 + 0.5) / 10 AS STRING) || ' days apart'
                  END AS detail,
               b.name, b.city
        FROM best b JOIN _corr_names n ON n.name = b.name
        WHERE b.rank = 1
        """,
    )
    engine.drop("_corr_records", "_corr_sample", "_corr_names", "_corr_predictions")


def _predict(engine: Engine, params: LinkParams, records: int) -> str:
    """Run splink: estimate u on the sample, score the blocked pairs; the predictions' table name."""
    from splink import Linker

    splink_logger = logging.getLogger("splink")
    was = splink_logger.level
    splink_logger.setLevel(logging.WARNING)  # splink reports every step at INFO
    try:
        settings = corroboration_settings(params, records)
        sample_api = engine.splink_backend()
        sample = Linker("_corr_sample", settings, db_api=sample_api, set_up_basic_logging=False)
        n = params.corroboration_u_sample
        # max_pairs above the sample's own pair count: splink then takes every record of it.
        sample.training.estimate_u_using_random_sampling(max_pairs=max(n * n, 1e4 + 1), seed=_SEED)
        trained = sample.misc.save_model_to_json()
        # A level no pair of the sample falls in (a small store) has no u: as if one pair had.
        sampled = min(records, n)
        for comparison in trained["comparisons"]:
            for cl in comparison["comparison_levels"]:
                if not cl.get("is_null_level") and not cl.get("u_probability"):
                    cl["u_probability"] = 1 / max(1, sampled * (sampled - 1) // 2)
        sample_api.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
        api = engine.splink_backend()
        linker = Linker("_corr_records", trained, db_api=api, set_up_basic_logging=False)
        predictions = linker.inference.predict(
            threshold_match_probability=params.corroboration_min_probability
        )
        engine.table("_corr_predictions", f"SELECT * FROM {predictions.physical_name}")
        api.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
    finally:
        splink_logger.setLevel(was)
    return "_corr_predictions"


def orphan_pairs(engine: Engine) -> None:
    """Table ``orphan_pairs(orphan, other, detail, place)``: the corroboration pairs one end of which
    (``orphan``) shows nothing another ad shows (no number, e-mail, handle or photo that is not a
    hub and has a second holder) and the other end does.

    An ad with nothing of its own to link by (no number, or only the site's hotline; "text me on
    snap" without the handle) is joined to the group of the ads that state her uncommon name, age
    and city within days, when those ads are all one group (`steps.link_components`): an orphan
    between two groups joins neither. Two ads that show something to link by are never joined by
    corroboration alone (on the quality corpus that loses more precision than it gains recall; see
    the module). Needs ``corroboration_pairs``, ``_values`` and ``hubs`` (`steps.detect_hubs`).
    """
    # Which ends of the pairs show something another ad shows (the pairs' ends only: few).
    engine.table(
        "_linkable",
        """
        SELECT DISTINCT v.ad_key FROM _values v
        JOIN (SELECT ad_a AS ad_key FROM corroboration_pairs UNION SELECT ad_b FROM corroboration_pairs) e
          ON e.ad_key = v.ad_key
        JOIN hubs h ON h.kind = v.kind AND h.value = v.value
        WHERE NOT h.is_hub AND h.ads > 1
        """,
    )
    engine.table(
        "orphan_pairs",
        """
        SELECT CASE WHEN la.ad_key IS NULL THEN c.ad_a ELSE c.ad_b END AS orphan,
               CASE WHEN la.ad_key IS NULL THEN c.ad_b ELSE c.ad_a END AS other,
               'p ' || CAST(floor(c.match_probability * 1000) / 1000 AS STRING) || ': ' || c.detail
               AS detail,
               c.name || ' in ' || c.city AS place
        FROM corroboration_pairs c
        LEFT JOIN _linkable la ON la.ad_key = c.ad_a
        LEFT JOIN _linkable lb ON lb.ad_key = c.ad_b
        WHERE (la.ad_key IS NULL AND lb.ad_key IS NOT NULL) OR (la.ad_key IS NOT NULL AND lb.ad_key IS NULL)
        """,
    )


def save_corroboration(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the corroboration rows of ``link_evidence`` with those of ``corroboration_pairs``.

    Needs the run's ``ad_links`` saved. Every run replaces all of them (not only those of the
    networks it clustered again): the pairs are scored over the whole archive, so a pair between
    two unchanged ads can appear or go when a name grows more common, and a full run and an
    incremental one must leave the same rows.

    * ``corroboration``: per network, name and city, the ads that corroborate one another inside
      one person (``ads``), with the number of pairs and the strongest one.
    * ``corroboration_lead``: a pair whose ads are in two persons (of one network or two), listed
      under the network of each ad: value the two ads, detail the other ad's network and person.
    * ``corroborated``: an ad with nothing else to link it (`orphan_pairs`) in the network of the
      ads that corroborate it: value it and the first of them, detail the pair's probability.
    """
    corroboration_evidence(DuckDBEngine(con))
    # The networks whose rows change, for those who keep answers (`store._tx.touched`).
    if listened(con):
        changed = con.execute(
            """
            WITH old AS (
                SELECT * FROM link_evidence
                WHERE kind IN ('corroboration', 'corroboration_lead', 'corroborated')
            )
            SELECT DISTINCT network FROM (
                (SELECT * FROM old EXCEPT ALL SELECT * FROM new_corroboration_evidence)
                UNION ALL
                (SELECT * FROM new_corroboration_evidence EXCEPT ALL SELECT * FROM old)
            )
            """
        ).fetchall()
        touched(con, *network_tags(n for (n,) in changed))
    con.execute(
        "DELETE FROM link_evidence WHERE kind IN ('corroboration', 'corroboration_lead', 'corroborated')"
    )
    con.execute("INSERT INTO link_evidence SELECT * FROM new_corroboration_evidence")


def corroboration_evidence(engine: Engine) -> None:
    """Table ``new_corroboration_evidence``: the ``link_evidence`` rows of ``corroboration_pairs``
    (see `save_corroboration`), from the run's ``ad_links``, in any engine."""
    engine.table(
        "new_corroboration_evidence",
        """
        WITH pairs AS (
            SELECT c.ad_a, c.ad_b, c.name, c.city, c.match_probability,
                   -- truncated, not rounded: 0.9996 is no certainty
                   'p ' || CAST(floor(c.match_probability * 1000) / 1000 AS STRING) || ': ' || c.detail
                   AS reason,
                   la.network AS net_a, lb.network AS net_b, la.person AS person_a, lb.person AS person_b,
                   la.source || ':' || la.id || ' ' || lb.source || ':' || lb.id AS pair
            FROM corroboration_pairs c
            JOIN ad_links la ON la.ad_key = c.ad_a
            JOIN ad_links lb ON lb.ad_key = c.ad_b
        ), same AS (
            SELECT *, row_number() OVER (
                PARTITION BY net_a, name, city ORDER BY match_probability DESC, ad_a, ad_b
            ) AS rank
            FROM pairs WHERE person_a = person_b
        ), ends AS (
            SELECT net_a AS network, name, city, ad_a AS ad FROM same
            UNION SELECT net_a AS network, name, city, ad_b AS ad FROM same
        ), counted AS (
            SELECT network, name, city, COUNT(*) AS ads FROM ends GROUP BY network, name, city
        ), summed AS (
            SELECT net_a AS network, name, city, COUNT(*) AS pairs,
                   MIN(CASE WHEN rank = 1 THEN reason END) AS strongest
            FROM same GROUP BY net_a, name, city
        )
        SELECT s.network, 'corroboration' AS kind, s.name || ' in ' || s.city AS value, c.ads,
               CAST(s.pairs AS STRING) || CASE WHEN s.pairs = 1 THEN ' pair' ELSE ' pairs' END
               || ', strongest ' || s.strongest AS detail
        FROM summed s JOIN counted c ON c.network = s.network AND c.name = s.name AND c.city = s.city
        UNION ALL
        SELECT net_a, 'corroboration_lead', pair, 2, reason || '; other ad in ' || net_b || ', ' || person_b
        FROM pairs WHERE person_a <> person_b
        UNION ALL
        SELECT net_b, 'corroboration_lead', pair, 2, reason || '; other ad in ' || net_a || ', ' || person_a
        FROM pairs WHERE person_a <> person_b AND net_a <> net_b
        UNION ALL
        -- an ad with nothing else to link it, in the network of the ads that corroborate it
        -- (`orphan_pairs`): the first of them, and why
        SELECT network, 'corroborated', pair, 2, reason || '; the first shows nothing else another ad shows'
        FROM (
            SELECT lo.network,
                   lo.source || ':' || lo.id || ' ' || lp.source || ':' || lp.id AS pair, o.detail AS reason,
                   row_number() OVER (PARTITION BY o.orphan ORDER BY o.other) AS rank
            FROM orphan_pairs o
            JOIN ad_links lo ON lo.ad_key = o.orphan
            JOIN ad_links lp ON lp.ad_key = o.other
            WHERE lo.network = lp.network
        ) j
        WHERE rank = 1
        """,
    )
