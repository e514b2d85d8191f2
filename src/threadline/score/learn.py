"""Learning from the unit: analysts' labels of networks, and weights fitted on them.

Labels (`label_network`) name a network through one of its ads, so a label follows the ad when
networks merge or split; they are numbered and shown as ``L11`` (`threadline.refs`), never
deleted (`revoke_label` keeps who withdrew one, when and why), and the latest active label of a
network counts. Labels are read only by `fit`: a label or its withdrawal changes no score until
the next fit. ``unsure`` labels are kept but not learned from.

`fit` fits logistic regression (scikit-learn) on the labelled networks' features, the same
features the prior weights read, and estimates how well it ranks by cross-validation (average
precision of out-of-fold predictions). The priors need no fitting, so their average precision on
the same labels is measured directly. The fitted weights are saved either way (a model is never
lost: ``score_models``), but used for scoring only when they rank better than the priors; the
priors stay the fallback. Fitted weights are kept non-negative (a feature that comes out
negative is dropped and the rest refitted), so that a fitted score, like a prior one, never falls
when evidence is added.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from threadline.engine import DuckDBEngine
from threadline.extract.lexicon import Lexicon, default_lexicon
from threadline.link.lineage import LABELLED_NETWORKS
from threadline.refs import format_ref
from threadline.score.scorer import build_features, prior_model
from threadline.score.weights import Weights, load_weights
from threadline.store.schema import utc_now

__all__ = [
    "LABELS",
    "FitReport",
    "Label",
    "NotEnoughLabels",
    "fit",
    "label_network",
    "labels",
    "revoke_label",
]

LABELS = ("trafficking", "independent", "unsure")
MIN_PER_CLASS = 5


class NotEnoughLabels(ValueError):
    """Too few labelled networks of each kind to fit and cross-validate."""


@dataclass(frozen=True, slots=True)
class FitReport:
    model_id: int
    labels: int
    positives: int
    model_ap: float
    prior_ap: float
    adopted: bool
    coefficients: dict[str, float]
    dropped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Label:
    """One analyst's label of a network (the network when it was labelled; it follows ``ad``)."""

    label_id: int
    network: str
    label: str
    analyst: str
    labelled_at: datetime
    note: str | None
    ad: str  # SOURCE:ID
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_note: str | None

    @property
    def ref(self) -> str:
        return format_ref("label", self.label_id)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def labels(
    con: duckdb.DuckDBPyConnection, label_id: int | None = None, *, ids: Sequence[int] | None = None
) -> list[Label]:
    """Every label (or the one numbered ``label_id``, or those numbered ``ids``), oldest first,
    withdrawn ones too."""
    where: str
    params: list[Any]
    if label_id is not None:
        where, params = "WHERE label_id = ?", [label_id]
    elif ids is not None:
        where, params = "WHERE label_id IN (SELECT UNNEST(?::BIGINT[]))", [list(ids)]
    else:
        where, params = "", []
    rows = con.execute(
        "SELECT label_id, network, label, analyst, labelled_at, note, source || ':' || id,"
        f" revoked_by, revoked_at, revoke_note FROM score_labels {where} ORDER BY label_id",
        params,
    ).fetchall()
    return [Label(int(r[0]), *r[1:]) for r in rows]


def label_network(
    con: duckdb.DuckDBPyConnection, network: str, label: str, *, analyst: str, note: str | None = None
) -> int:
    """Record an analyst's label of ``network``; returns the label's number."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, not {label!r}")
    rows = con.execute(
        "SELECT source, id FROM ad_links WHERE network = ? ORDER BY ad_key LIMIT 1", [network]
    ).fetchall()
    if not rows:
        raise LookupError(f"no network {network}")
    [(label_id,)] = con.execute("SELECT COALESCE(MAX(label_id), 0) + 1 FROM score_labels").fetchall()
    con.execute(
        "INSERT INTO score_labels (label_id, source, id, network, label, analyst, note, labelled_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [label_id, rows[0][0], rows[0][1], network, label, analyst, note, utc_now()],
    )
    return int(label_id)


def revoke_label(
    con: duckdb.DuckDBPyConnection, label_id: int, *, analyst: str, note: str | None = None
) -> Label:
    """Withdraw a label; it stays on record with who withdrew it, when and why. Returns it."""
    ref = format_ref("label", label_id)
    rows = con.execute("SELECT revoked_by FROM score_labels WHERE label_id = ?", [label_id]).fetchall()
    if not rows:
        raise LookupError(f"no label {ref}")
    if rows[0][0] is not None:
        raise ValueError(f"label {ref} was already withdrawn by {rows[0][0]}")
    con.execute(
        "UPDATE score_labels SET revoked_by = ?, revoked_at = ?, revoke_note = ? WHERE label_id = ?",
        [analyst, utc_now(), note, label_id],
    )
    return labels(con, label_id)[0]


def _labelled(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """Current network -> (label id, label) of its latest active label."""
    rows = con.execute(
        f"""
        SELECT network, label_id, label FROM ({LABELLED_NETWORKS})
        WHERE network IN (SELECT network FROM ad_links)
        QUALIFY row_number() OVER (PARTITION BY network ORDER BY labelled_at DESC, label_id DESC) = 1
        """
    ).fetchall()
    return {network: (int(label_id), label) for network, label_id, label in rows}


def _fit_nonnegative(x: np.ndarray, y: np.ndarray, c: float) -> tuple[float, np.ndarray, list[int]]:
    """Logistic regression with every weight >= 0: drop negative features and refit."""
    from sklearn.linear_model import LogisticRegression

    keep = [j for j in range(x.shape[1]) if np.any(x[:, j] != 0)]
    coef = np.zeros(x.shape[1])
    bias = 0.0
    while keep:
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(x[:, keep], y)
        weights = model.coef_[0]
        bias = float(model.intercept_[0])
        negative = [keep[i] for i, w in enumerate(weights) if w < 0]
        if not negative:
            coef[:] = 0
            coef[keep] = weights
            break
        keep = [j for j in keep if j not in negative]
    else:
        bias = float(np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6)))
    dropped = [j for j in range(x.shape[1]) if coef[j] == 0]
    return bias, coef, dropped


def fit(
    con: duckdb.DuckDBPyConnection,
    *,
    analyst: str,
    weights: Weights | None = None,
    lexicon: Lexicon | None = None,
    folds: int = 5,
    c: float = 1.0,
    seed: int = 0,
) -> FitReport:
    """Fit weights on the labelled networks, compare with the priors, save; see the module."""
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold

    weights = weights or load_weights()
    lexicon = lexicon or default_lexicon()
    labelled = {n: lab for n, (_, lab) in _labelled(con).items() if lab != "unsure"}
    positives = sum(lab == "trafficking" for lab in labelled.values())
    negatives = len(labelled) - positives
    if min(positives, negatives) < MIN_PER_CLASS:
        raise NotEnoughLabels(
            f"need at least {MIN_PER_CLASS} networks labelled trafficking and {MIN_PER_CLASS} labelled "
            f"independent to fit; have {positives} and {negatives}"
        )
    prior = prior_model(weights, lexicon)
    features = sorted(prior.coefficients)
    engine = DuckDBEngine(con)
    build_features(engine, weights, lexicon)
    networks = sorted(labelled)
    index = {n: i for i, n in enumerate(networks)}
    col = {f: j for j, f in enumerate(features)}
    x = np.zeros((len(networks), len(features)))
    for network, feature, value in engine.query("SELECT network, feature, x FROM _net_x"):
        if network in index and feature in col:
            x[index[network], col[feature]] = value
    y = np.array([labelled[n] == "trafficking" for n in networks], dtype=int)
    prior_w = np.array([prior.coefficients[f] for f in features])
    prior_ap = float(average_precision_score(y, x @ prior_w))
    out_of_fold = np.zeros(len(networks))
    splitter = StratifiedKFold(n_splits=min(folds, positives, negatives), shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        bias, coef, _ = _fit_nonnegative(x[train], y[train], c)
        out_of_fold[test] = bias + x[test] @ coef
    model_ap = float(average_precision_score(y, out_of_fold))
    bias, coef, dropped = _fit_nonnegative(x, y, c)
    adopted = model_ap > prior_ap
    # A feature no labelled network shows cannot be estimated: it keeps its prior weight, so that
    # a circuit or a stated age under 18 still counts where the labels never met one.
    unseen = [j for j in range(len(features)) if not np.any(x[:, j] != 0)]
    for j in unseen:
        coef[j] = prior.coefficients[features[j]]
    dropped = [j for j in dropped if j not in unseen]
    coefficients = {f: round(float(w), 6) for f, w in zip(features, coef, strict=True) if w > 0}
    [(model_id,)] = con.execute("SELECT COALESCE(MAX(model_id), 0) + 1 FROM score_models").fetchall()
    detail: dict[str, Any] = {
        "features": features,
        "dropped": [features[j] for j in dropped],
        "prior_kept": [features[j] for j in unseen],
        "folds": splitter.get_n_splits(),
        "seed": seed,
        "C": c,
        "positives": positives,
        "negatives": negatives,
        "label_ids": sorted(i for i, lab in _labelled(con).values() if lab != "unsure"),
        "weights_file": weights.path,
        "lexicon_file": lexicon.path,
    }
    con.execute(
        "INSERT INTO score_models (model_id, created_at, analyst, labels, bias, coefficients, model_ap,"
        " prior_ap, adopted, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            model_id,
            utc_now(),
            analyst,
            len(networks),
            bias,
            json.dumps(coefficients),
            model_ap,
            prior_ap,
            adopted,
            json.dumps(detail),
        ],
    )
    return FitReport(
        int(model_id),
        len(networks),
        positives,
        round(model_ap, 4),
        round(prior_ap, 4),
        adopted,
        coefficients,
        tuple(features[j] for j in dropped),
    )
