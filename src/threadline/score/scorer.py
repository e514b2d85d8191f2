"""Priority scores for every ad and network, each with the contributions that make it up.

A score is ``1 / (1 + e^-logit)`` with ``logit = bias + sum of contributions``:

* a **network**'s contributions are its structure (`structure`: persons per phone, rotated
  phones, one writer's text over many persons ...), its movement (`movement`: places, speed,
  foreign area codes, circuits), and each of its ads' own signs, at its strongest, counted more
  the more ads show it, to three (``ads:lexicon:third_party``, ``ads:obscured_phone`` ...; a
  stated age under 18 counts in full from one ad);
* an **ad**'s are its own signs (each lexicon category once, at its strongest entry; an obscured
  phone; a stated age under 18) plus its network's structure and movement (an ad of an operation
  is a lead even when its own text is clean).

Every contribution is a non-negative weight times a value clamped to ``[floor, cap]`` minus the
floor, so a score never falls when a sign grows (a new indicator in an ad, one more person under a
phone: tested), and no single feature can outweigh everything else without limit. (Some features
are shares or ratios of a network's ads, such as ads under a phone from elsewhere, which more ads
without the sign lower, as they should.) Weights are the priors of ``score_weights.tsv`` and the lexicon,
or a model fitted on the unit's labels (`learn`) once it beat the priors. Every part is saved
(``score_parts``) so each score is shown with its reasons; the score is a priority for human
review, not a finding.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from threadline.engine import DuckDBEngine, Engine, sql_literal, write_rows
from threadline.extract.lexicon import Lexicon, default_lexicon
from threadline.link.kept import KEPT
from threadline.score.movement import movement_steps
from threadline.score.saved import refresh_network_summary, save_movement
from threadline.score.structure import local_prices, scope_tables, structure_features
from threadline.score.weights import Weights, load_weights
from threadline.store._tx import ALL, network_tags, touched, transaction
from threadline.store.schema import insert_row

__all__ = [
    "NOTE",
    "Model",
    "ScoreReport",
    "adopted_model",
    "build_features",
    "iter_ad_scores",
    "network_features",
    "prior_model",
    "reasons",
    "score_store",
]

NOTE = "a priority for human review, not a finding"
REPEATS = 3  # an ad sign counts in full for a network once this many of its ads show it
MOVEMENT_FEATURES = ("places", "max_km_per_day", "foreign_code_share", "circuit_repeats")


@dataclass(frozen=True, slots=True)
class Model:
    """Network-level weights: the priors, or fitted ones (feature -> log-odds per unit of x)."""

    name: str  # 'prior' or 'model <id>'
    bias: float
    coefficients: dict[str, float]


@dataclass(frozen=True, slots=True)
class ScoreReport:
    ads: int
    networks: int
    model: str
    seconds: float
    rescored: int = 0  # ads scored again by this run (all of them on a full run)


def prior_model(weights: Weights, lexicon: Lexicon) -> Model:
    """The network-level weights as the data files give them (means of ad signs count once)."""
    coefficients = {w.feature: w.weight for w in weights.level("network")}
    for w in weights.level("ad"):
        coefficients[f"ads:{w.feature}"] = 1.0
    for category in sorted({e.category for e in lexicon}):
        coefficients[f"ads:lexicon:{category}"] = 1.0
    return Model("prior", weights.bias["network"], coefficients)


def adopted_model(con: duckdb.DuckDBPyConnection) -> Model | None:
    """The last fitted model, if it beat the priors on its labels (see `learn`); else None."""
    rows = con.execute(
        "SELECT model_id, bias, coefficients, adopted FROM score_models ORDER BY model_id DESC LIMIT 1"
    ).fetchall()
    if not rows or not rows[0][3]:
        return None
    model_id, bias, coefficients, _ = rows[0]
    return Model(f"model {model_id}", float(bias), {k: float(v) for k, v in json.loads(coefficients).items()})


def _ad_signs(engine: Engine, weights: Weights, lexicon: Lexicon) -> None:
    """Table ``_ad_parts(ad_key, feature, value, detail, x, contribution)``: each ad's own signs."""
    ad_weights = [(w.feature, w.floor, w.cap, w.weight) for w in weights.level("ad")]
    write_rows(
        engine,
        "_ad_weights",
        [("feature", "STRING"), ("floor", "DOUBLE"), ("cap", "DOUBLE"), ("weight", "DOUBLE")],
        ad_weights,
    )
    entries = [(e.id, e.category, max(e.weight, 0.0)) for e in lexicon]
    write_rows(
        engine, "_lexicon", [("entry", "STRING"), ("category", "STRING"), ("weight", "DOUBLE")], entries
    )
    obfuscated = engine.json_text("e.detail", "obfuscated")
    styles = engine.json_text("e.detail", "styles")  # the JSON list's text
    minor = engine.json_text("e.detail", "minor")
    said = engine.json_text("e.detail", "text")
    # One pass over the extractions for the three kinds read below (each finding's first span).
    engine.table(
        "_ad_found",
        """
        SELECT s.ad_key, e.kind, e.value, e.detail
        FROM score_ads s
        JOIN extractions e ON e.source = s.source AND e.ad_id = s.id AND e.version = s.version
        WHERE e.kind IN ('indicator', 'phone', 'age') AND e.span_index = 0
        """,
    )
    engine.table(
        "_ad_raw",
        f"""
        WITH lex AS (
            SELECT e.ad_key, l.category, l.weight,
                   e.value || ' ' || COALESCE({said}, '') AS entry,
                   row_number() OVER (
                       PARTITION BY e.ad_key, l.category ORDER BY l.weight DESC, e.value
                   ) AS rank
            FROM _ad_found e
            JOIN _lexicon l ON l.entry = e.value
            WHERE e.kind = 'indicator'
        )
        SELECT ad_key, 'lexicon:' || category AS feature, weight AS value, entry AS detail
        FROM lex WHERE rank = 1 AND weight > 0
        UNION ALL
        SELECT p.ad_key, 'obscured_phone', 1.0, MIN(p.phone || ' ' || {styles})
        FROM score_phones p
        JOIN _ad_found e ON e.ad_key = p.ad_key AND e.kind = 'phone' AND e.value = p.phone
        WHERE {obfuscated} = 'true'
        GROUP BY p.ad_key
        UNION ALL
        SELECT e.ad_key, 'minor_age', 1.0, 'age ' || MIN(e.value)
        FROM _ad_found e
        WHERE e.kind = 'age' AND {minor} = 'true'
        GROUP BY e.ad_key
        """,
    )
    engine.drop("_ad_found")
    engine.table(
        "_ad_parts",
        """
        SELECT r.ad_key, r.feature, r.value, r.detail,
               CASE WHEN r.feature LIKE 'lexicon:%' THEN r.value
                    ELSE LEAST(GREATEST(r.value, w.floor), w.cap) - w.floor END AS x,
               CASE WHEN r.feature LIKE 'lexicon:%' THEN r.value
                    ELSE w.weight * (LEAST(GREATEST(r.value, w.floor), w.cap) - w.floor) END AS contribution
        FROM _ad_raw r LEFT JOIN _ad_weights w ON w.feature = r.feature
        WHERE r.feature LIKE 'lexicon:%' OR w.feature IS NOT NULL
        """,
    )


def network_features(engine: Engine, weights: Weights) -> None:
    """Table ``_net_x(network, feature, value, detail, x)``: what the network-level model reads.

    Needs ``structure``, ``movement`` and ``_ad_parts``. ``x`` is the value above its floor, up
    to its cap (structure and movement), or for an ad sign (``ads:...``) its strongest
    contribution in the network's ads times min(ads showing it, `REPEATS`) / `REPEATS` (a stated
    age under 18: in full from one ad).
    """
    net_weights = [(w.feature, w.floor, w.cap) for w in weights.level("network")]
    write_rows(
        engine, "_net_weights", [("feature", "STRING"), ("floor", "DOUBLE"), ("cap", "DOUBLE")], net_weights
    )
    moved = " UNION ALL ".join(
        f"SELECT network, '{f}' AS feature, CAST({f} AS DOUBLE) AS value, "
        + (
            "circuit"
            if f == "circuit_repeats"
            else "'origin ' || COALESCE(origin, 'unknown')"
            if f == "foreign_code_share"
            else "CAST(NULL AS STRING)"
        )
        + f" AS detail FROM movement WHERE {f} IS NOT NULL"
        for f in MOVEMENT_FEATURES
    )
    engine.table(
        "_net_x",
        f"""
        WITH raw AS (
            SELECT network, feature, value, detail FROM structure
            UNION ALL {moved}
        ), sized AS (
            SELECT network, COUNT(*) AS ads FROM score_ads GROUP BY network
        )
        SELECT r.network, r.feature, r.value, r.detail,
               LEAST(GREATEST(r.value, w.floor), w.cap) - w.floor AS x
        FROM raw r JOIN _net_weights w ON w.feature = r.feature
        UNION ALL
        SELECT network, 'ads:' || feature, strongest * shown, detail, strongest * shown
        FROM (
            SELECT s.network, p.feature, MAX(p.contribution) AS strongest,
                   LEAST(COUNT(*), CASE WHEN p.feature = 'minor_age' THEN 1 ELSE {REPEATS} END)
                   / CAST(CASE WHEN p.feature = 'minor_age' THEN 1 ELSE {REPEATS} END AS DOUBLE) AS shown,
                   CAST(COUNT(*) AS STRING) || ' of ' || CAST(MIN(z.ads) AS STRING) || ' ads' AS detail
            FROM _ad_parts p JOIN score_ads s ON s.ad_key = p.ad_key JOIN sized z ON z.network = s.network
            GROUP BY s.network, p.feature
        ) AS signs
        """,
    )


def build_features(
    engine: Engine,
    weights: Weights,
    lexicon: Lexicon,
    *,
    inputs_built: bool = False,
    networks: str | None = None,
    prices: str | None = None,
) -> None:
    """Every input of a score: tables ``_ad_parts`` (ads' own signs) and ``_net_x`` (networks'),
    for every linked ad, or for the networks listed in table ``networks(network)``. ``prices``:
    the ads' hourly prices kept by the store (`structure.local_prices`)."""
    if not inputs_built:
        from threadline.link.steps import build_inputs

        build_inputs(engine)
    local_prices(engine, prices)
    cheap = weights.features.get(("network", "cheap_share"))
    scope_tables(engine, networks, cheap.floor if cheap else None)
    structure_features(engine)
    movement_steps(engine)
    _ad_signs(engine, weights, lexicon)
    network_features(engine, weights)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _versions(weights: Weights, lexicon: Lexicon, model: Model) -> tuple[str, str, str]:
    """What a score depends on besides the data, as recorded in ``score_runs``."""
    lexicon_digest = _digest(sorted((e.id, e.kind, e.text, e.category, e.weight) for e in lexicon))
    weights_digest = _digest(sorted(weights.bias.items()), sorted(map(repr, weights.features.values())))
    model_digest = _digest(model.name, model.bias, sorted(model.coefficients.items()))
    return (
        f"{lexicon.path} {lexicon_digest}",
        f"{weights.path} {weights_digest}",
        f"{model.name} {model_digest}",
    )


def score_tables(engine: Engine, weights: Weights, model: Model) -> None:
    """Tables ``new_score_parts``, ``new_network_scores`` and ``new_ad_scores``: the scores of the
    ads and networks `build_features` read, with every contribution, in any engine."""
    coefficients = [(f, c) for f, c in sorted(model.coefficients.items()) if c > 0]
    write_rows(engine, "_coef", [("feature", "STRING"), ("coef", "DOUBLE")], coefficients)
    engine.table(
        "_net_parts",
        """
        SELECT x.network, x.feature, x.value, x.detail, x.x, c.coef * x.x AS contribution
        FROM _net_x x JOIN _coef c ON c.feature = x.feature
        WHERE x.x > 0
        """,
    )
    engine.table(
        "new_score_parts",
        """
        SELECT 'network' AS level, network AS unit, feature, value, detail, x, contribution FROM _net_parts
        UNION ALL
        SELECT 'ad', CAST(ad_key AS STRING), feature, value, detail, x, contribution FROM _ad_parts
        """,
    )
    net_bias, ad_bias, name = repr(model.bias), repr(weights.bias["ad"]), sql_literal(model.name)
    engine.table(
        "new_network_scores",
        f"""
        WITH sums AS (SELECT network, SUM(contribution) AS total FROM _net_parts GROUP BY network),
             sized AS (SELECT network, COUNT(*) AS ads FROM score_ads GROUP BY network)
        SELECT z.network, z.ads, {net_bias} + COALESCE(s.total, 0) AS logit,
               1 / (1 + exp(-({net_bias} + COALESCE(s.total, 0)))) AS score, {name} AS model
        FROM sized z LEFT JOIN sums s ON s.network = z.network
        """,
    )
    engine.table(
        "new_ad_scores",
        f"""
        WITH own AS (SELECT ad_key, SUM(contribution) AS total FROM _ad_parts GROUP BY ad_key),
             structure AS (
                 SELECT network, SUM(contribution) AS total FROM _net_parts
                 WHERE feature NOT LIKE 'ads:%' GROUP BY network
             )
        SELECT a.ad_key, a.source, a.id, a.network,
               {ad_bias} + COALESCE(o.total, 0) + COALESCE(n.total, 0) AS logit,
               1 / (1 + exp(-({ad_bias} + COALESCE(o.total, 0) + COALESCE(n.total, 0)))) AS score,
               {name} AS model
        FROM score_ads a
        LEFT JOIN own o ON o.ad_key = a.ad_key
        LEFT JOIN structure n ON n.network = a.network
        """,
    )


def score_store(
    con: duckdb.DuckDBPyConnection,
    *,
    weights: Weights | None = None,
    lexicon: Lexicon | None = None,
    model: Model | None = None,
    inputs_built: bool = False,
    changed: str | None = None,
) -> ScoreReport:
    """Score the linked ads and networks of the store behind ``con`` and save the scores.

    ``model`` defaults to the adopted fitted model, else the priors. ``inputs_built``: the link
    inputs of this session are current (a link run just built them, the store's kept inputs
    current with them: `link.kept`). ``changed``: a table of the
    networks a link run changed (``network``); only they are scored again, unless the lexicon, the
    weights or the model differ from the last run's, which scores everything. A network's score
    depends only on its own ads, except for the local price medians, which are read over the
    whole store every time: a network whose score they move is scored again too
    (`structure.scope_tables`).
    """
    t0 = time.perf_counter()
    weights = weights or load_weights()
    lexicon = lexicon or default_lexicon()
    model = model or adopted_model(con) or prior_model(weights, lexicon)
    versions = _versions(weights, lexicon, model)
    last = con.execute(
        "SELECT lexicon, weights, model FROM score_runs ORDER BY finished DESC LIMIT 1"
    ).fetchall()
    # Only what the last link run changed, if the scores were current before it (a scoring run
    # that failed after a link run leaves them behind: then everything).
    links = con.execute("SELECT finished FROM link_runs ORDER BY finished DESC LIMIT 2").fetchall()
    scored = con.execute("SELECT MAX(finished) FROM score_runs").fetchall()[0][0]
    current = len(links) == 2 and scored is not None and scored >= links[1][0]
    # A store whose scored networks lack their saved summary or movement (scored before these
    # were saved, or loaded from an older run's output) is scored whole once.
    [(unsaved,)] = con.execute(
        """
        SELECT COUNT(*) FROM network_scores n
        WHERE NOT EXISTS (SELECT 1 FROM network_summary s WHERE s.network = n.network)
           OR NOT EXISTS (SELECT 1 FROM score_movement m WHERE m.network = n.network)
           OR NOT EXISTS (SELECT 1 FROM ad_summary a WHERE a.network = n.network)
        """
    ).fetchall()
    fresh = changed and current and last and tuple(last[0]) == versions and not unsaved
    scope = changed if fresh else None
    engine = DuckDBEngine(con)
    # Features are temporary tables, made before the transaction that saves the scores (inside
    # one, replaced temporary tables are kept until the commit: see `link.link`).
    # A link run just made the inputs from the store's kept copy (`link.kept`), prices included.
    prices = KEPT["prices"] if inputs_built else None
    build_features(engine, weights, lexicon, inputs_built=inputs_built, networks=scope, prices=prices)
    score_tables(engine, weights, model)
    # What the run touches, for those who keep answers (`store._tx.Touches`): the networks it
    # scores again (and their persons and ads), or everything.
    with transaction(con, touches=("links",) if scope else ALL):
        if scope:
            nets = con.execute("SELECT network FROM _score_networks").fetchall()
            touched(con, *network_tags(n for (n,) in nets))
        con.execute("DELETE FROM score_local_prices")
        con.execute("INSERT INTO score_local_prices SELECT place, median, ads FROM _local_prices")
        if scope:
            # The changed networks, and those whose local prices moved (see `scope_tables`).
            con.execute(
                """
                DELETE FROM score_parts WHERE
                    (level = 'network' AND unit IN (SELECT network FROM _score_networks))
                    OR (level = 'ad' AND unit IN (SELECT CAST(ad_key AS STRING) FROM score_links))
                """
            )
            con.execute("DELETE FROM network_scores WHERE network IN (SELECT network FROM _score_networks)")
            con.execute("DELETE FROM ad_scores WHERE ad_key IN (SELECT ad_key FROM score_links)")
            # Scores of networks and ads no longer linked at all (none in a real archive, where ads
            # are never deleted; a store pruned by hand): drop them too.
            con.execute("DELETE FROM ad_scores WHERE ad_key NOT IN (SELECT ad_key FROM ad_links)")
            con.execute("DELETE FROM network_scores WHERE network NOT IN (SELECT network FROM ad_links)")
            con.execute(
                "DELETE FROM score_parts"
                " WHERE level = 'network' AND unit NOT IN (SELECT network FROM ad_links)"
            )
        else:
            con.execute("DELETE FROM score_parts")
            con.execute("DELETE FROM network_scores")
            con.execute("DELETE FROM ad_scores")
        con.execute("INSERT INTO score_parts SELECT * FROM new_score_parts")
        con.execute("INSERT INTO network_scores SELECT * FROM new_network_scores")
        con.execute("INSERT INTO ad_scores SELECT * FROM new_ad_scores")
        # What readers show beside the scores, for the same networks (`saved`).
        save_movement(con, "_score_networks" if scope else None)
        refresh_network_summary(con, "_score_networks" if scope else None)
        [(ads, networks, rescored)] = con.execute(
            "SELECT (SELECT COUNT(*) FROM ad_scores), (SELECT COUNT(*) FROM network_scores),"
            " (SELECT COUNT(*) FROM score_ads)"
        ).fetchall()
        seconds = time.perf_counter() - t0
        lexicon_version, weights_version, model_version = versions
        insert_row(
            con,
            "score_runs",
            {
                "finished": datetime.now(UTC).replace(tzinfo=None),
                "ads": ads,
                "networks": networks,
                "model": model_version,
                "lexicon": lexicon_version,
                "weights": weights_version,
                "seconds": seconds,
            },
        )
    return ScoreReport(int(ads), int(networks), model.name, round(seconds, 2), int(rescored))


def reasons(
    parts: list[tuple[str, str, float, str | None, float]], weights: Weights, lexicon: Lexicon
) -> list[dict[str, Any]]:
    """Readable reasons from ``(level, feature, value, detail, contribution)`` rows, largest first."""
    out = []
    for level, feature, value, detail, contribution in sorted(parts, key=lambda p: (-p[4], p[1])):
        out.append(
            {
                "reason": _text(level, feature, value, detail, weights, lexicon),
                "contribution": round(contribution, 4),
                "level": level,
                "feature": feature,
            }
        )
    return out


def _text(
    level: str, feature: str, value: float, detail: str | None, weights: Weights, lexicon: Lexicon
) -> str:
    if feature.startswith("ads:"):
        inner = feature[4:]
        return f"in the network's ads: {_label(inner, lexicon)} ({detail})"
    if feature.startswith("lexicon:"):
        entry, _, said = (detail or "").partition(" ")
        return f"{_label(feature, lexicon)}: “{' '.join(said.split())}” ({entry})"
    key = (level, feature)
    if key in weights.features:
        return weights.features[key].explain(value, detail)
    return f"{feature} = {value:g}" + (f" ({detail})" if detail else "")


def _label(feature: str, lexicon: Lexicon) -> str:
    if feature.startswith("lexicon:"):
        return f"{feature[8:].replace('_', ' ')} language"
    return feature.replace("_", " ")


def iter_ad_scores(
    con: duckdb.DuckDBPyConnection,
    weights: Weights | None = None,
    lexicon: Lexicon | None = None,
    network: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The `export scores` records: one per ad, best first, each with its reasons (``network``:
    only that network's ads)."""
    weights = weights or load_weights()
    lexicon = lexicon or default_lexicon()
    cursor = con.execute(
        """
        WITH own AS (
            SELECT CAST(unit AS BIGINT) AS ad_key,
                   list((level, feature, value, detail, contribution)) AS parts
            FROM score_parts WHERE level = 'ad' GROUP BY unit
        ), net AS (
            SELECT unit AS network, list((level, feature, value, detail, contribution)) AS parts
            FROM score_parts WHERE level = 'network' AND feature NOT LIKE 'ads:%' GROUP BY unit
        )
        SELECT s.source, s.id, s.score, s.network, n.score, s.model, o.parts, p.parts
        FROM ad_scores s
        JOIN network_scores n ON n.network = s.network
        LEFT JOIN own o ON o.ad_key = s.ad_key
        LEFT JOIN net p ON p.network = s.network
        WHERE ? IS NULL OR s.network = ?
        ORDER BY s.score DESC, s.source, s.id
        """,
        [network, network],
    )
    while rows := cursor.fetchmany(10_000):
        for source, ad_id, score, network, network_score, model, own, net in rows:
            parts = [
                tuple(p.values()) if isinstance(p, dict) else tuple(p) for p in (own or []) + (net or [])
            ]
            yield {
                "id": ad_id,
                "source": source,
                "score": round(float(score), 6),
                "network": network,
                "network_score": round(float(network_score), 6),
                "model": model,
                "reasons": [
                    *reasons(parts, weights, lexicon),  # type: ignore[arg-type]
                    {
                        "reason": "starting point"
                        if parts
                        else "starting point: no sign found in the ad or its network",
                        "contribution": weights.bias["ad"],
                        "level": "ad",
                        "feature": "bias",
                    },
                ],
                "note": NOTE,
            }


def logistic(logit: float) -> float:
    return 1 / (1 + math.exp(-logit))
