"""One ad: every version, extracted values with spans, indicators, images, network and person."""

from __future__ import annotations

import dataclasses
import json

import duckdb
from conftest import raw_ads

from threadline import read


def test_an_ad_shows_every_version_its_extractions_indicators_and_images(
    con: duckdb.DuckDBPyConnection,
) -> None:
    source, ad_id = con.execute(
        """
        SELECT a.source, a.id FROM ads a
        WHERE a.version = 2
          AND EXISTS (SELECT 1 FROM ad_images i
                      WHERE i.source = a.source AND i.ad_id = a.id AND i.version = 2)
          AND EXISTS (SELECT 1 FROM extractions e
                      WHERE e.source = a.source AND e.ad_id = a.id AND e.version = 2 AND e.kind = 'indicator')
        ORDER BY a.source, a.id LIMIT 1
        """
    ).fetchall()[0]
    ad = read.ad_detail(con, source, ad_id)
    assert ad is not None
    rows = con.execute(
        "SELECT version, title, body FROM ads WHERE source = ? AND id = ? ORDER BY version", [source, ad_id]
    ).fetchall()
    assert [(v.version, v.title, v.body) for v in ad.versions] == rows
    assert ad.latest.version == 2
    # Extracted values of the latest version, each with its span, in the order found.
    spans = con.execute(
        "SELECT kind, value, field, span_start, span_end FROM extractions"
        " WHERE source = ? AND ad_id = ? AND version = 2 AND kind <> 'sentence'",
        [source, ad_id],
    ).fetchall()
    assert sorted((e.kind, e.value, e.field, e.start, e.end) for e in ad.extracted) == sorted(spans)
    for e in ad.extracted:
        if e.field == "body" and e.start is not None and e.kind in ("phone", "indicator"):
            assert ad.latest.body[e.start : e.end]  # the span is in the text
    indicators = [(k, v, f, s, t) for k, v, f, s, t in spans if k == "indicator"]
    assert sorted((i.entry, i.field, i.start, i.end) for i in ad.indicators) == sorted(
        (v, f, s, t) for _, v, f, s, t in indicators
    )
    for i in ad.indicators:
        assert i.category and i.text
        if i.field == "body" and i.start is not None:
            assert " ".join(ad.latest.body[i.start : i.end].lower().split()) == " ".join(
                i.text.lower().split()
            )
    images = con.execute(
        "SELECT i.path, i.sha256, m.width, m.height"
        " FROM ad_images i LEFT JOIN images m ON m.sha256 = i.sha256"
        " WHERE i.source = ? AND i.ad_id = ? AND i.version = 2 ORDER BY i.position",
        [source, ad_id],
    ).fetchall()
    assert [(i.path, i.sha256, i.width, i.height) for i in ad.images] == images
    linked = raw_ads(con)[(source, ad_id)]
    assert (ad.network, ad.person, ad.place) == (linked.network, linked.person, linked.place)
    [(ad_score, net_score)] = con.execute(
        "SELECT s.score, n.score FROM ad_scores s JOIN network_scores n ON n.network = s.network"
        " WHERE s.source = ? AND s.id = ?",
        [source, ad_id],
    ).fetchall()
    assert (ad.ad_score, ad.network_score) == (ad_score, net_score)
    assert read.version_changes(ad.versions[0], ad.versions[1])
    json.dumps(dataclasses.asdict(ad), default=str)


def test_no_such_ad(con: duckdb.DuckDBPyConnection) -> None:
    assert read.ad_detail(con, "nowhere", "1") is None
