"""Linking as set-based SQL steps, written once for every engine.

From the store's latest ad versions and their extractions, the steps build:

* ``link_ids``: the identifiers ads share. Carriers recycle phone numbers, so a number is split
  into *tenures* (its runs of sightings without a long silence, one holder each) and links only
  ads of one tenure; see `_phone_tenures`.
* ``hubs``: identifiers and images that tie together ads of many unrelated posters (a site's
  support number in every footer, a stock photo). Detected from the data by the diversity of what
  they join: the number of *other* phone numbers seen in the ads that carry them. They are shown,
  never trusted for linking; an analyst can mark or unmark one.
* ``weak_phones``: numbers below the hub threshold whose other numbers fall into more unrelated
  groups than one holder's (an agency's footer on a small corpus): weak links that need
  corroboration, see `phone_groups`.
* ``text_pairs`` (see `threadline.link.text`): near-duplicate texts, by MinHash and LSH over
  each ad's sentences with identifiers masked and boilerplate dropped.
* ``image_pairs``: near-identical images (PDQ or pHash within a Hamming radius), found through an
  index of hash chunks (equal 16-bit chunks), never by comparing all pairs.
* ``net_edges`` / ``person_edges``: ad-to-ad edges. Shared identifiers and images are joined as
  stars (every ad to the first ad carrying the value), so a value held by n ads costs n edges,
  not n².
* components of those graphs: networks (operations) and, inside them, persons.

Each step names its inputs and outputs as tables; the engine materialises them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from threadline.engine import Engine
from threadline.link.constraints import separate

__all__ = [
    "LinkParams",
    "build_inputs",
    "detect_hubs",
    "image_own",
    "image_pairs",
    "link_components",
    "phone_groups",
]

ID_KINDS = ("phone", "email", "handle")


@dataclass(frozen=True, slots=True)
class LinkParams:
    """Thresholds of the linking steps; stored beside every result so runs can be compared."""

    # A value seen with this many other phone numbers is a hub. An operation's own phone meets
    # its persons' few numbers; a site's footer number meets thousands.
    hub_co_phones: int = 20
    # Phone numbers change hands: a number silent for this many days or more starts a new
    # *tenure* (holder), and only ads of one tenure link through the number. US carriers must
    # age a disconnected number at least 45 days before giving it to someone else (FCC 18-177,
    # 2018; at most 90 days for residential numbers, 47 CFR 52.15(f)(1)(ii)), so no change of
    # hands hides in a shorter silence. A holder pausing longer is split, and rejoined only by
    # other evidence (photos, names, texts). The synthetic generator recycles after 60 days.
    phone_tenure_gap_days: int = 45
    # Near-identical images: PDQ's own match threshold (of 256 bits), and pHash (of 64 bits),
    # which still matches the crops PDQ misses.
    pdq_radius: int = 31
    phash_radius: int = 8
    # Only decoded images with real content enter linking at all (`build_inputs`), by exact
    # SHA-256 or near match: not a failed download (0 bytes, an HTML error page saved as .jpg,
    # which do not decode), not a tracking pixel or an icon, not a near-uniform placeholder.
    # PDQ quality (0-100) measures the picture's detail; PDQ's authors treat below 50 as too
    # featureless to match on. Measured on generated images: flat colour, flat with +-8 noise and
    # gentle gradients 0; "No photo" text or a grey icon on a flat background 11-16; a picture-icon
    # placeholder 40; noise and photo-like pictures 100 (though ~8% of the synthetic generator's
    # shape-and-gradient photos score 14-49: they link only through other evidence).
    pdq_min_quality: int = 50
    # ... and at least this many pixels on each side. PDQ hashes a 64x64 reduction of the image,
    # so a smaller one has fewer pixels than the hash samples; a 1x1 tracking pixel, a 16x16
    # favicon, a 48x48 icon or a 1-pixel spacer are not photos (ad thumbnails are 100 px and up).
    image_min_side: int = 64
    # Index buckets larger than this are flat or degenerate hashes, not evidence.
    max_bucket: int = 500
    # An incremental run clusters only the affected ads, unless they are more than this share
    # of the archive; then a full pass is cheaper and gives the same result.
    incremental_max_share: float = 0.3
    # Near-duplicate text (link/text.py). A sentence in more than this share of one source's ads
    # (and in at least min_ads of them), or beside this many phone numbers, is boilerplate.
    text_boilerplate_share: float = 0.2
    text_boilerplate_min_ads: int = 20
    text_boilerplate_co_phones: int = 5000
    # MinHash over each ad's remaining sentences: the hash family and its seed fix every signature,
    # so runs with different values here are not comparable. perms = bands x rows.
    text_minhash_scheme: str = "ax+b mod 2^31-1"
    text_minhash_seed: int = 20240611
    text_minhash_perms: int = 32
    text_minhash_rows: int = 4
    # Compare consecutive sentence pairs too, not only sentences: a template keeps its order.
    text_sentence_pairs: bool = True
    # LSH buckets larger than this are joined as a star to their first ad, not pairwise.
    text_max_bucket: int = 200
    # A text pair links only with this many shared sentences, this many shared consecutive pairs
    # (with text_sentence_pairs) and this Jaccard similarity (of sentences and pairs together).
    text_min_shared: int = 5
    text_min_shared_pairs: int = 4
    text_min_jaccard: float = 0.5
    # ... and only if what the two ads share in the same order is unlikely by chance among one
    # ad's N partners: the sum of ln(N / ads carrying it) over the shared sentence pairs must
    # exceed ln(N) by this many nats (e^6: some 400 times fewer chance matches than partners). A
    # pair that does not also exceed ln(N^2) (chance among all pairs of N ads) by as much is a
    # weak link (`text.text_pairs`).
    text_min_surprise: float = 6.0
    # A near-duplicate text joins two groups on its own only when every piece they share is
    # its writer's own: beside no more phone numbers than this quantile of the numbers one trusted
    # number is seen with (the median: a writer's text goes where her numbers go; never below two,
    # see `text._text_hubs`). Held by more, it is a text others copy too, a hub, and needs something
    # independent to agree (`_weak_joins`).
    text_own_quantile: float = 0.5
    # Rounds of weak joins: each round judges the groups the last one made as wholes.
    weak_rounds: int = 2
    # Weak corroboration (link/corroboration.py, splink): the same name, age and city within this
    # many days. Pairs scored at least min_probability are kept, as evidence only: on the quality
    # corpus they would add more false links than true ones (see the module).
    corroboration_window_days: float = 3.0
    corroboration_min_probability: float = 0.99
    # An ad that shows nothing another ad shows joins the one group whose ads corroborate it, when
    # this many of them do (`link_components`, `corroboration.orphan_pairs`); 0: never.
    orphan_min_corroborating: int = 2
    # Persons of one network that state one name and share an age, or a city with no age against
    # it, are one woman (`_namesakes`).
    person_namesakes: bool = True
    # The prior: a person posts this many ads on average, so two random ads of N are one person
    # with probability this / N.
    corroboration_ads_per_person: float = 8.0
    # u probabilities come from all pairs of this many records (a fixed hash-ordered sample).
    corroboration_u_sample: int = 2000


def image_own(hub: str, own: str = "t.holders") -> str:
    """SQL: whether the image of hub row ``hub`` (a non-hub) links as its owner's own, strongly.

    A photo goes where its owner's numbers go, as her text does: it is hers when it is beside no
    more phone numbers (``co_phones``, every number in the ads showing it) than one writer's text
    may be (``own``: ``text_own.holders``, the median over trusted numbers of the numbers seen in
    their ads; see `text._text_hubs`), or when an analyst marked it no hub. Beside more, it is one
    many advertisers use (a stock photo on a corpus too small for it to be a hub) and joins two
    groups only when something independent agrees (`_weak_joins`).
    """
    return f"({hub}.marked_by IS NOT NULL OR {hub}.co_phones <= {own})"


def _values(n: int) -> str:
    return "(VALUES " + ", ".join(f"({i})" for i in range(n)) + ") AS t(i)"


INPUT_KINDS = (*ID_KINDS, "name", "place", "age", "sentence", "price")  # the kinds `input_rows` reads
INPUT_DETAIL_KINDS = ("price", "place")  # the kinds whose JSON detail `input_rows` reads


def input_rows(engine: Engine, ads: str, extractions: str = "extractions") -> dict[str, str]:
    """SQL of each ad's link inputs read from the store's ``extractions`` (or a relation of some
    of them: those of `INPUT_KINDS` of the ads at least), for the ads of the
    relation ``ads(ad_key, source, id, version)`` (each ad once, in the version to read): the
    inputs of an ad depend on that version's extractions alone, so they can be kept per ad
    (`link.kept`) and read again only for new versions.

    ``ids(ad_key, kind, plain)``: the identifiers an ad shows; ``names(ad_key, name)``;
    ``facts(ad_key, city, age, ages)``: its location city and stated ages (``age`` its youngest,
    ``ages`` how many different); ``sentences(ad_key, source, h, pos)``: its distinct sentences
    (`link.text`) with the position of their first sighting, title first; ``prices(ad_key,
    source, ad_id, version, per_hour, site_place, place)``: its median hourly price with the place
    its site lists it in, else the first it names (`score.structure.local_prices`).
    """
    on = f"JOIN {ads} l ON e.source = l.source AND e.ad_id = l.id AND e.version = l.version"
    kinds = ", ".join(f"'{k}'" for k in ID_KINDS)
    per_hour = engine.json_text("e.detail", "per_hour")
    place_source = engine.json_text("e.detail", "source")
    return {
        "ids": f"""
            SELECT DISTINCT l.ad_key, e.kind, e.value AS plain
            FROM {extractions} e {on} WHERE e.kind IN ({kinds})
        """,
        "names": f"SELECT DISTINCT l.ad_key, e.value AS name FROM {extractions} e {on} WHERE e.kind = 'name'",
        # One pass over the extractions for the location city and the ages: corroboration and
        # weak joins read them.
        "facts": f"""
            SELECT l.ad_key,
                   MIN(e.value) FILTER (WHERE e.kind = 'place' AND e.field = 'location') AS city,
                   MIN(TRY_CAST(e.value AS INTEGER)) FILTER (WHERE e.kind = 'age') AS age,
                   COUNT(DISTINCT e.value) FILTER (WHERE e.kind = 'age') AS ages
            FROM {extractions} e {on}
            WHERE e.kind IN ('place', 'age')
            GROUP BY l.ad_key
        """,
        # An ad's version holds one "sentence" finding per distinct sentence, whose first span is
        # its first sighting (`extract.sentences.find_sentences` reads the title, then the body,
        # each from its start): that span's row is the sentence, with no aggregate over every
        # sentence row.
        "sentences": f"""
            SELECT l.ad_key, l.source, CAST(e.value AS BIGINT) AS h,
                   CAST(CASE WHEN e.field = 'title' THEN 0 ELSE 1000000000 END + e.span_start AS BIGINT)
                   AS pos
            FROM {extractions} e {on}
            WHERE e.kind = 'sentence' AND e.span_index = 0
        """,
        "prices": f"""
            WITH priced AS (
                SELECT l.ad_key, l.source, l.id, l.version,
                       MEDIAN(CAST({per_hour} AS DOUBLE)) AS per_hour
                FROM {extractions} e {on}
                WHERE e.kind = 'price' AND {per_hour} IS NOT NULL
                GROUP BY l.ad_key, l.source, l.id, l.version
            ), placed AS (
                SELECT e.source, e.ad_id, e.version,
                       MIN(e.value) FILTER (WHERE {place_source} = 'location') AS site_place,
                       MIN(e.value) AS any_place
                FROM {extractions} e
                JOIN priced r ON r.source = e.source AND r.id = e.ad_id AND r.version = e.version
                WHERE e.kind = 'place'
                GROUP BY e.source, e.ad_id, e.version
            )
            SELECT r.ad_key, r.source, r.id AS ad_id, r.version, r.per_hour, p.site_place,
                   COALESCE(p.site_place, p.any_place) AS place
            FROM priced r
            LEFT JOIN placed p ON p.source = r.source AND p.ad_id = r.id AND p.version = r.version
        """,
    }


def build_inputs(
    engine: Engine, params: LinkParams | None = None, *, kept: Literal["update", "rebuild"] | None = None
) -> None:
    """Link inputs from the store: ``link_ads``, ``link_sightings``, ``link_ids``, ``link_names``,
    ``link_facts`` (an ad's location city and stated ages), ``link_images``.

    ``link_images(ad_key, sha256, pdq, pdq_quality, phash)`` holds only the images that may link
    (``params``: `LinkParams.pdq_min_quality` and `LinkParams.image_min_side`; the defaults when
    None): every later step (hubs, exact and near matches, persons) reads images from it. The
    store keeps every file an ad referenced (``ad_images``) as provenance: a file that did not
    decode, a tiny or featureless one, is recorded and shown but never evidence.

    ``link_sightings(ad_key, kind, plain, seen_at)`` holds every identifier an ad shows, as
    extracted, with the time the ad was seen. ``link_ids(ad_key, kind, value, plain)`` holds them
    as extracted too (``value = plain``) until `detect_hubs` replaces it with the values linking
    joins on, where a phone number's value is its tenure.

    ``kept`` (a DuckDB store only): the per-ad inputs (`input_rows`) are read from the store's
    kept copy (`link.kept`) instead of from every extraction, brought up to date first with the
    versions that changed since (``"update"``) or read again whole (``"rebuild"``).
    """
    # When an ad was seen: when it was posted or, for a site that does not say, when it was
    # captured (the ad, and so its number, was in use then; a re-capture of an unchanged ad is no
    # new version and does not move it). Ads with neither are undated (see `_phone_tenures`).
    engine.table(
        "link_ads",
        """
        SELECT k.ad_key, a.source, a.id, a.version, a.posted_at, a.location,
               COALESCE(a.posted_at, a.captured_at) AS seen_at
        FROM latest_ads a JOIN ad_keys k ON k.source = a.source AND k.id = a.id
        """,
    )
    if kept:
        from threadline.link.kept import KEPT, keep_inputs

        keep_inputs(engine, rebuild=kept == "rebuild")
        rows = KEPT
    else:
        rows = {name: f"({sql})" for name, sql in input_rows(engine, "link_ads").items()}
    engine.table(
        "link_sightings",
        f"""
        SELECT i.ad_key, i.kind, i.plain, l.seen_at
        FROM {rows["ids"]} i JOIN link_ads l ON l.ad_key = i.ad_key
        """,
    )
    engine.table("link_ids", "SELECT ad_key, kind, plain AS value, plain FROM link_sightings")
    engine.table("link_names", f"SELECT ad_key, name FROM {rows['names']} n")
    engine.table("link_facts", f"SELECT ad_key, city, age, ages FROM {rows['facts']} f")
    # The one place images enter linking. A file that failed to decode has no PDQ (its SHA-256
    # is provenance only: six failed downloads are one empty file, not one person).
    params = params or LinkParams()
    engine.table(
        "link_images",
        f"""
        SELECT DISTINCT l.ad_key, i.sha256, i.pdq, i.pdq_quality, i.phash
        FROM ad_images ai
        JOIN link_ads l ON ai.source = l.source AND ai.ad_id = l.id AND ai.version = l.version
        JOIN images i ON i.sha256 = ai.sha256
        WHERE i.pdq IS NOT NULL AND i.phash IS NOT NULL
          AND i.pdq_quality >= {int(params.pdq_min_quality)}
          AND i.width >= {int(params.image_min_side)} AND i.height >= {int(params.image_min_side)}
        """,
    )


def _phone_tenures(engine: Engine, params: LinkParams) -> None:
    """Table ``link_ids(ad_key, kind, value, plain)``: the identifiers linking joins on (from
    ``link_sightings``, replacing the as-extracted ``link_ids`` of `build_inputs`).

    A phone number's dated sightings, in time order, are cut wherever the number was silent for
    ``phone_tenure_gap_days`` or more; each run of sightings is a *tenure* (one holder), and its
    ``value`` is the number and the day it was first seen (``+17135550142 from 2026-08-03``), so
    that only ads of one tenure link through the number and evidence still shows the number.
    ``plain`` is the number itself (analysts mark hubs by it). A tenure's value depends only on
    its own sightings: ads elsewhere in time never rename it (see `incremental`).

    Undated ads (neither posted nor captured time) cannot be placed in a tenure: a guess would
    hand them to the wrong holder of a recycled number. They keep the plain number as their value,
    so they link with the number's other undated ads, as before tenures, but never with a dated
    tenure. Emails and handles are not recycled by carriers and are not split.
    """
    gap = params.phone_tenure_gap_days
    if not isinstance(gap, int) or isinstance(gap, bool) or gap < 1:
        # Tenures are named by their first day: two tenures starting on one day would share a name.
        raise ValueError(f"phone_tenure_gap_days must be a whole number of days >= 1, not {gap!r}")
    # A sighting after a long enough silence starts a tenure; each sighting belongs to the last
    # start up to it (in time order, then by ad: of sightings at one instant only the first can
    # start a tenure, so "the last start at or before its time" is the same thing). DuckDB finds
    # it with an as-of join (one sort); other engines with a running maximum over the window.
    starts = f"previous IS NULL OR seen_at >= previous + INTERVAL '{gap}' DAY"
    if engine.dialect == "duckdb":
        tenures = f"""
        starts AS (
            SELECT plain, seen_at AS start FROM dated WHERE {starts}
        ), tenures AS (
            SELECT d.ad_key, d.plain, s.start AS first_seen
            FROM dated d ASOF JOIN starts s ON s.plain = d.plain AND d.seen_at >= s.start
        )"""
    else:
        tenures = f"""
        tenures AS (
            SELECT ad_key, plain,
                   MAX(CASE WHEN {starts} THEN seen_at END) OVER (
                       PARTITION BY plain ORDER BY seen_at, ad_key
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                   ) AS first_seen
            FROM dated
        )"""
    engine.table(
        "link_ids",
        f"""
        WITH dated AS (
            SELECT ad_key, plain, seen_at,
                   LAG(seen_at) OVER (PARTITION BY plain ORDER BY seen_at, ad_key) AS previous
            FROM link_sightings
            WHERE kind = 'phone' AND seen_at IS NOT NULL
        ), {tenures}
        SELECT ad_key, 'phone' AS kind,
               plain || ' from ' || CAST(CAST(first_seen AS DATE) AS STRING) AS value, plain
        FROM tenures
        UNION ALL
        SELECT ad_key, kind, plain AS value, plain
        FROM link_sightings
        WHERE kind <> 'phone' OR seen_at IS NULL
        """,
    )


def detect_hubs(engine: Engine, params: LinkParams) -> None:
    """Tables ``link_ids`` (see `_phone_tenures`), ``link_phone_ids(ad_key, pid, plain)`` (each
    ad's distinct phone numbers, numbered) and ``hubs(kind, value, ads, co_phones, names,
    detected, is_hub, marked_by)``, one row per value linking joins on (per tenure of a phone).

    ``detected`` is the data's verdict, ``is_hub`` the one linking uses: an analyst's mark in
    ``hub_marks`` overrides the data. A mark of a plain phone number holds for every tenure of
    it; a mark of one tenure's value (as `hubs` lists it) for that tenure only, and wins.
    ``co_phones`` counts other phone numbers, not tenures.
    """
    _phone_tenures(engine, params)
    # Each ad's distinct phone numbers, each number also as a small whole number (``pid``, one
    # per number): the distinct numbers beside a value or a text are counted on these, which
    # costs far less than counting the numbers' text.
    engine.table(
        "link_phone_ids",
        """
        WITH numbers AS (
            SELECT plain, row_number() OVER (ORDER BY plain) AS pid
            FROM (SELECT DISTINCT plain FROM link_ids WHERE kind = 'phone') d
        )
        SELECT DISTINCT i.ad_key, n.pid, n.plain
        FROM link_ids i JOIN numbers n ON n.plain = i.plain
        WHERE i.kind = 'phone'
        """,
    )
    engine.table(
        "_values",
        """
        SELECT ad_key, kind, value, plain FROM link_ids
        UNION ALL SELECT ad_key, 'image' AS kind, sha256 AS value, sha256 AS plain FROM link_images
        """,
    )
    engine.table(
        "hubs",
        f"""
        WITH co AS (
            SELECT v.kind, v.value, COUNT(DISTINCT p.pid) AS co_phones
            FROM _values v JOIN link_phone_ids p ON p.ad_key = v.ad_key
            WHERE NOT (v.kind = 'phone' AND p.plain = v.plain)
            GROUP BY v.kind, v.value
        ), named AS (
            SELECT v.kind, v.value, COUNT(DISTINCT n.name) AS names
            FROM _values v JOIN link_names n ON n.ad_key = v.ad_key
            GROUP BY v.kind, v.value
        ), counted AS (
            SELECT kind, value, MIN(plain) AS plain, COUNT(DISTINCT ad_key) AS ads
            FROM _values GROUP BY kind, value
        )
        SELECT c.kind, c.value, c.ads, COALESCE(co.co_phones, 0) AS co_phones,
               COALESCE(named.names, 0) AS names,
               COALESCE(co.co_phones, 0) >= {params.hub_co_phones} AS detected,
               COALESCE(m.is_hub, mp.is_hub, COALESCE(co.co_phones, 0) >= {params.hub_co_phones}) AS is_hub,
               COALESCE(m.analyst, mp.analyst) AS marked_by
        FROM counted c
        LEFT JOIN co ON co.kind = c.kind AND co.value = c.value
        LEFT JOIN named ON named.kind = c.kind AND named.value = c.value
        LEFT JOIN hub_marks m ON m.kind = c.kind AND m.value = c.value
        LEFT JOIN hub_marks mp ON mp.kind = c.kind AND mp.value = c.plain AND c.plain <> c.value
        """,
    )


def image_pairs(engine: Engine, params: LinkParams) -> None:
    """Table ``image_pairs(sha_a, sha_b, pdq_distance, phash_distance)`` of near-identical images.

    Candidates share one 16-bit chunk of their PDQ (16 chunks) or pHash (4 chunks) hash: by the
    pigeonhole principle every pair within 15 (PDQ) or 3 (pHash) bits shares one, and most pairs
    within the wider match radius do too. Candidates are then checked on the full hashes.
    """
    # `build_inputs` admits only decoded, big and detailed enough images; the quality is checked
    # again here in case it was given other parameters than these.
    engine.table(
        "_img",
        f"""
        SELECT DISTINCT i.sha256, i.pdq, i.phash
        FROM link_images i JOIN hubs h ON h.kind = 'image' AND h.value = i.sha256 AND NOT h.is_hub
        WHERE i.pdq IS NOT NULL AND i.pdq_quality >= {params.pdq_min_quality}
        """,
    )
    engine.table(
        "_img_chunks",
        f"""
        SELECT sha256, 'pdq' AS hash, i AS chunk, substr(pdq, 4 * i + 1, 4) AS val FROM _img, {_values(16)}
        UNION ALL
        SELECT sha256, 'phash' AS hash, i AS chunk, substr(phash, 4 * i + 1, 4) AS val
        FROM _img, {_values(4)}
        """,
    )
    engine.table(
        "_img_buckets",
        f"""
        SELECT hash, chunk, val FROM _img_chunks GROUP BY hash, chunk, val
        HAVING COUNT(*) BETWEEN 2 AND {params.max_bucket}
        """,
    )
    engine.table(
        "_img_candidates",
        """
        SELECT DISTINCT a.sha256 AS sha_a, b.sha256 AS sha_b
        FROM _img_chunks a
        JOIN _img_buckets k ON k.hash = a.hash AND k.chunk = a.chunk AND k.val = a.val
        JOIN _img_chunks b ON b.hash = a.hash AND b.chunk = a.chunk AND b.val = a.val
        WHERE a.sha256 < b.sha256
        """,
    )
    h = engine.hex64
    pdq_bits = " + ".join(
        engine.popcount_xor(h(f"substr(a.pdq, {16 * w + 1}, 16)"), h(f"substr(b.pdq, {16 * w + 1}, 16)"))
        for w in range(4)
    )
    phash_bits = engine.popcount_xor(h("a.phash"), h("b.phash"))
    engine.table(
        "image_pairs",
        f"""
        SELECT c.sha_a, c.sha_b, {pdq_bits} AS pdq_distance, {phash_bits} AS phash_distance
        FROM _img_candidates c
        JOIN _img a ON a.sha256 = c.sha_a
        JOIN _img b ON b.sha256 = c.sha_b
        WHERE {pdq_bits} <= {params.pdq_radius} OR {phash_bits} <= {params.phash_radius}
        """,
    )


def phone_groups(engine: Engine) -> None:
    """Table ``weak_phones(value, groups)``: the phone tenures that are weak links, not strong ones.

    A number below `LinkParams.hub_co_phones` is no hub, but it may still be one many unrelated
    advertisers print: a site's or an agency's footer number on a corpus too small for it to meet
    20 other numbers. What tells it from an operation's shared number (a booker's phone beside its
    workers' numbers) is not how many numbers it is beside but whether those numbers belong
    together. The workers of one operation share other things (photos, the controller's text,
    each other's numbers); the advertisers under one footer share nothing but it.

    So, for each trusted tenure P, take P's ads that show another trusted number, leave P out, and
    count the separate groups they form through what else joins them: another phone tenure, an
    e-mail or handle, an exact photo its owner's numbers hold (`image_own`), a near-identical
    photo, a near-duplicate text. ``groups`` is that count: the unrelated holders P sits beside
    (P's own holder among them: an independent's second number is her own group, a booker's
    workers are his operation). P is then judged as a text or a photo is (`text._text_hubs`,
    `image_own`): one holder's text is beside ``text_own.holders`` numbers (the median, over
    trusted numbers, of the numbers in their ads, itself included; measured on the data each
    run, never below 2), and a number whose numbers fall into more groups than
    that (``groups > text_own.holders``) ties together more people than one holder's own text
    would, with nothing else to say they belong together. It joins two groups only when something
    independent agrees (`_weak_joins`: a text or a photo between the same two groups, posts
    together in two cities), never on a shared first name alone: among several unrelated holders
    two share a name by chance.

    Why this measure and not the numbers' own group counts (say, an outlier among every number's
    groups): those are 0 or 1 for almost every number of an archive (an independent's numbers,
    a booker whose workers share photos or text), so any quantile of them says "more than one"
    and would cut every booker whose two workers share nothing else; ``text_own`` is the
    threshold the archive already measures for the other weak links, so phones, texts and photos
    answer to one rule. On the generator's 500-ad corpora, footer numbers beside 13 and 16 numbers
    form 13 and 16 groups; operations' numbers form 1 (or 2, kept strong). From
    `LinkParams.hub_co_phones` other numbers a number is a hub, as before. An analyst's mark
    (`mark-hub phone`, either way) overrides: a number marked no hub is strong whatever its groups.

    Needs ``hubs``, ``link_ids``, ``link_images``, ``image_pairs``, ``text_pairs`` and ``text_own``.
    """
    engine.table(
        "_pg_phones",
        """
        SELECT i.ad_key, i.value, i.plain, h.co_phones, h.marked_by
        FROM link_ids i JOIN hubs h ON h.kind = 'phone' AND h.value = i.value
        WHERE i.kind = 'phone' AND NOT h.is_hub
        """,
    )
    # The ads of each candidate P (unmarked, beside two other numbers or more: one group of one
    # number is never more than its own) that show another trusted number; one node each.
    engine.table(
        "_pg_nodes",
        """
        SELECT phone, ad_key, row_number() OVER (ORDER BY phone, ad_key) AS node FROM (
            SELECT DISTINCT p.value AS phone, p.ad_key
            FROM _pg_phones p JOIN _pg_phones o ON o.ad_key = p.ad_key AND o.plain <> p.plain
            WHERE p.marked_by IS NULL AND p.co_phones >= 2
        ) n
        """,
    )
    engine.table(
        "_pg_values",
        f"""
        SELECT n.phone, n.node, i.kind || ' ' || i.value AS value
        FROM _pg_nodes n
        JOIN link_ids i ON i.ad_key = n.ad_key AND NOT (i.kind = 'phone' AND i.value = n.phone)
        JOIN hubs h ON h.kind = i.kind AND h.value = i.value
        WHERE NOT h.is_hub
        UNION ALL
        SELECT n.phone, n.node, 'image ' || i.sha256 AS value
        FROM _pg_nodes n
        JOIN link_images i ON i.ad_key = n.ad_key
        JOIN hubs h ON h.kind = 'image' AND h.value = i.sha256
        CROSS JOIN text_own t
        WHERE NOT h.is_hub AND {image_own("h")}
        """,
    )
    engine.table(
        "_pg_edges",
        """
        SELECT node AS a, MIN(node) OVER (PARTITION BY phone, value) AS b FROM _pg_values
        UNION ALL
        SELECT na.node AS a, nb.node AS b
        FROM text_pairs p
        JOIN _pg_nodes na ON na.ad_key = p.ad_a
        JOIN _pg_nodes nb ON nb.ad_key = p.ad_b AND nb.phone = na.phone
        UNION ALL
        SELECT na.node AS a, nb.node AS b
        FROM image_pairs p
        JOIN link_images ia ON ia.sha256 = p.sha_a
        JOIN link_images ib ON ib.sha256 = p.sha_b
        JOIN _pg_nodes na ON na.ad_key = ia.ad_key
        JOIN _pg_nodes nb ON nb.ad_key = ib.ad_key AND nb.phone = na.phone
        """,
    )
    engine.table("_pg_node_ids", "SELECT node FROM _pg_nodes")
    engine.connected_components("_pg_edges", "_pg_node_ids", "_pg_components")
    engine.table(
        "weak_phones",
        """
        SELECT g.phone AS value, g.groups FROM (
            SELECT n.phone, COUNT(DISTINCT c.component) AS groups
            FROM _pg_nodes n JOIN _pg_components c ON c.node = n.node
            GROUP BY n.phone
        ) g CROSS JOIN text_own t
        WHERE g.groups > t.holders
        """,
    )


def link_components(engine: Engine, scope: str | None = None, params: LinkParams | None = None) -> None:
    """Tables ``net_edges``, ``person_edges``, ``networks(node, component)``, ``persons(...)``.

    With ``scope`` (a table of ``ad_key``, closed under links: see `incremental`) only those ads
    are clustered; the others keep what the last run gave them.

    Networks join ads over every trusted (non-hub) identifier, image, near-duplicate text (an
    operation's template: one writer, possibly many persons) and analyst merge. Persons
    join, inside a network, ads that show the same photos, or the same identifier under the same
    self-stated name, or an identifier only ever used under one name (an independent's phone), or
    the same one name and one age; the persons those make join when they state one name and share
    an age or a city with no age against it (`_namesakes`).
    """
    # Every holder of a trusted value or image is linked to the others, so a scope closed under
    # links holds all of them or none: the values are read for the scope's ads only.
    in_scope = f"JOIN {scope} s ON s.ad_key = i.ad_key" if scope else ""
    # A weak phone (`phone_groups`: beside numbers of people nothing else joins) links persons
    # inside a network as before, but joins cores only as a weak link.
    engine.table(
        "_trusted_ids",
        f"""
        SELECT i.ad_key, i.kind, i.value, w.value IS NOT NULL AS weak
        FROM link_ids i JOIN hubs h ON h.kind = i.kind AND h.value = i.value {in_scope}
        LEFT JOIN weak_phones w ON i.kind = 'phone' AND w.value = i.value
        WHERE NOT h.is_hub
        """,
    )
    # An image is its owner's (``own``) when it is beside no more phone numbers than one writer's
    # text is (``text_own``, measured on the data: see `image_own`), or an analyst said it is no
    # hub; beside more (a stock photo many advertisers use, too few of them for a hub), it is a
    # weak link like a near-identical photo, judged between the groups of the scope that hold it
    # (`_weak_joins`; `incremental` puts them all in the scope, as for texts).
    engine.table(
        "_trusted_images",
        f"""
        SELECT i.ad_key, i.sha256, {image_own("h")} AS own
        FROM link_images i JOIN hubs h ON h.kind = 'image' AND h.value = i.sha256 {in_scope}
        CROSS JOIN text_own t
        WHERE NOT h.is_hub
        """,
    )
    # The first ad showing each image, and near-identical images joined through those.
    engine.table(
        "_image_first",
        "SELECT sha256, own, MIN(ad_key) AS first_ad FROM _trusted_images GROUP BY sha256, own",
    )
    engine.table(
        "_image_edges",
        """
        SELECT i.ad_key AS a, f.first_ad AS b, 'image' AS kind, i.sha256 AS value, f.own
        FROM _trusted_images i JOIN _image_first f ON f.sha256 = i.sha256
        UNION ALL
        SELECT fa.first_ad AS a, fb.first_ad AS b, 'similar_image' AS kind,
               p.sha_a || ' ' || p.sha_b AS value, FALSE AS own
        FROM image_pairs p
        JOIN _image_first fa ON fa.sha256 = p.sha_a
        JOIN _image_first fb ON fb.sha256 = p.sha_b
        """,
    )
    # Analysts' active decisions, by ad key (ads not linked yet have none and wait for their run).
    engine.table(
        "_decision_ads",
        """
        SELECT d.decision_id, d.decision, d.analyst, s.side, k.ad_key
        FROM analyst_decisions d
        JOIN analyst_decision_ads s ON s.decision_id = d.decision_id
        JOIN ad_keys k ON k.source = s.source AND k.id = s.id
        WHERE d.revoked_at IS NULL
        """,
    )
    # Strong links make cores: a trusted identifier (a phone in one tenure whose other numbers
    # belong together: `phone_groups`), an exact image its owner's numbers hold, an analyst's
    # merge. Weak links (a near-duplicate text, a near-identical image, an exact image beside more
    # numbers, a phone beside unrelated numbers) join two cores only when they can carry it (see
    # `_weak_joins`).
    engine.table(
        "_strong_edges_all",
        """
        SELECT t.ad_key AS a, MIN(t.ad_key) OVER (PARTITION BY t.kind, t.value) AS b, t.kind, t.value
        FROM _trusted_ids t WHERE NOT t.weak
        UNION ALL SELECT a, b, kind, value FROM _image_edges WHERE kind = 'image' AND own
        UNION ALL
        SELECT ad_key AS a, MIN(ad_key) OVER (PARTITION BY decision_id) AS b, 'analyst_merge' AS kind,
               'decision ' || CAST(decision_id AS STRING) || ' by ' || analyst AS value
        FROM _decision_ads WHERE decision = 'merge'
        """,
    )
    engine.table(
        "_weak_edges_all",
        """
        SELECT fa.first_ad AS a, fb.first_ad AS b, 'similar_image' AS kind,
               p.sha_a || ' ' || p.sha_b AS value, 0 AS holders, p.sha_a AS part_a, p.sha_b AS part_b
        FROM image_pairs p
        JOIN _image_first fa ON fa.sha256 = p.sha_a
        JOIN _image_first fb ON fb.sha256 = p.sha_b
        UNION ALL
        SELECT ad_a AS a, ad_b AS b, 'text' AS kind,
               -- rounded as floor(x + 0.5): ROUND of a double differs between engines at halves
               'jaccard ' || CAST(floor(jaccard * 100 + 0.5) / 100 AS STRING)
               || ', ' || CAST(shared AS STRING) || ' sentences' AS value,
               holders, NULL AS part_a, NULL AS part_b
        FROM text_pairs
        """,
    )
    # Exact images beside more numbers than their owner's, and phones beside unrelated numbers
    # (`phone_groups`): weak links between every two groups holding one (`_weak_joins`), not a
    # star on its first holder, whose group is chance.
    engine.table(
        "_weak_values",
        """
        SELECT ad_key, 'image' AS kind, sha256 AS value FROM _trusted_images WHERE NOT own
        UNION ALL SELECT ad_key, kind, value FROM _trusted_ids WHERE weak
        """,
    )
    engine.table("_net_nodes", f"SELECT ad_key AS node FROM {scope or 'link_ads'}")
    engine.table("_strong_edges_held", _within("_strong_edges_all", scope))
    engine.connected_components("_strong_edges_held", "_net_nodes", "_cores")
    # An ad that shows nothing another ad shows joins the one group of the ads that corroborate it
    # (`corroboration.orphan_pairs`: her uncommon name, age and city within days), when two of its
    # ads or more do (one namesake of her age posting in her city is chance now and then: two
    # operations' workers on a corpus written apart from the generator); between two groups,
    # neither. Every corroborating ad is in the scope with it (`incremental`).
    params = params or LinkParams()
    least = int(params.orphan_min_corroborating)
    engine.table(
        "_orphan_edges",
        f"""
        WITH judged AS (
            SELECT p.orphan, MIN(p.other) AS other FROM orphan_pairs p
            JOIN _cores co ON co.node = p.orphan
            JOIN _cores c ON c.node = p.other
            WHERE {least} > 0
            GROUP BY p.orphan
            HAVING COUNT(DISTINCT c.component) = 1 AND COUNT(DISTINCT p.other) >= {least}
        )
        SELECT j.orphan AS a, j.other AS b, 'corroborated' AS kind, p.place AS value
        FROM judged j JOIN orphan_pairs p ON p.orphan = j.orphan AND p.other = j.other
        """,
    )
    engine.table(
        "_strong_edges",
        """
        SELECT a, b, kind, value FROM _strong_edges_held
        UNION ALL SELECT a, b, kind, value FROM _orphan_edges
        """,
    )
    [(orphans,)] = engine.query("SELECT COUNT(*) FROM _orphan_edges")
    if orphans:
        engine.connected_components("_strong_edges", "_net_nodes", "_cores")
    engine.table("_weak_edges", _within("_weak_edges_all", scope))
    # Where and when each ad was posted: the city its location field names, and its time.
    engine.table(
        "_ad_visits",
        """
        SELECT l.ad_key, f.city, l.seen_at
        FROM link_ads l JOIN link_facts f ON f.ad_key = l.ad_key
        WHERE f.city IS NOT NULL AND l.seen_at IS NOT NULL
        """,
    )
    # Groups joined in one round are judged as wholes in the next: their names and photos
    # together (a burner's stops under two aliases, each alias shared with another stop).
    for round_ in range(params.weak_rounds):
        if round_:
            engine.table("_cores", "SELECT node, component FROM networks")
        _weak_joins(engine, params)
        _net_edges(engine)
        engine.connected_components("net_edges", "_net_nodes", "networks")
    cut = separate(engine)  # analysts' "not linked" and splits: cut the fewest links (constraints)
    # Identifiers used under exactly one name (or none) identify one person; others (an
    # operation's shared phone) only together with the name. Inside a network, the ads that state
    # one name and one age, the same both, are one person too: a worker whose booking line
    # rotates keeps her name and age across its numbers.
    engine.table(
        "_one_name_age",
        """
        SELECT n.ad_key, MIN(n.name) AS name, MIN(f.age) AS age
        FROM link_names n JOIN link_facts f ON f.ad_key = n.ad_key AND f.ages = 1
        GROUP BY n.ad_key HAVING COUNT(DISTINCT n.name) = 1
        """,
    )
    engine.table(
        "_person_edges_all",
        """
        WITH named AS (
            SELECT t.ad_key, t.kind, t.value, n.name
            FROM _trusted_ids t LEFT JOIN link_names n ON n.ad_key = t.ad_key
        ), single AS (
            SELECT kind, value, MIN(name) AS name FROM named
            GROUP BY kind, value HAVING COUNT(DISTINCT name) <= 1
        ), held AS (  -- each ad's identifiers used under one name, with that name
            SELECT n.ad_key, n.kind, n.value, n.name, s.name AS owner
            FROM named n JOIN single s ON s.kind = n.kind AND s.value = n.value
        ), torn AS (
            -- an ad that states no name and holds the values of two names (a manager's notice
            -- listing the women's own numbers) is neither's: it would chain them into one person
            SELECT ad_key FROM held WHERE name IS NULL GROUP BY ad_key HAVING COUNT(DISTINCT owner) > 1
        )
        SELECT h.ad_key AS a, MIN(h.ad_key) OVER (PARTITION BY h.kind, h.value) AS b, h.kind, h.value
        FROM held h LEFT JOIN torn t ON t.ad_key = h.ad_key
        WHERE t.ad_key IS NULL
        UNION ALL
        SELECT ad_key AS a, MIN(ad_key) OVER (PARTITION BY kind, value, name) AS b,
               'named_' || kind AS kind, value || ' ' || name AS value
        FROM named WHERE name IS NOT NULL
        UNION ALL SELECT a, b, kind, value FROM _image_edges
        UNION ALL SELECT a, b, kind, value FROM _orphan_edges
        UNION ALL
        SELECT p.ad_key AS a, MIN(p.ad_key) OVER (PARTITION BY w.component, p.name, p.age) AS b,
               'name_age' AS kind, p.name || ' ' || CAST(p.age AS STRING) AS value
        FROM _one_name_age p JOIN networks w ON w.node = p.ad_key
        """,
    )
    engine.table("person_edges", _within("_person_edges_all", scope))
    [(weak_phones,)] = engine.query("SELECT COUNT(*) FROM weak_phones")
    if cut or params.weak_rounds or weak_phones:
        # A person never spans two networks. Person links are stars (each holder of a value to its
        # first holder), and a cut, or a weak link (a similar photo) that did not join its two
        # networks, may have put that first holder in another network: re-star every value
        # inside each network, so the holders left on either side stay joined, and apart.
        engine.table(
            "_person_members",
            """
            SELECT m.kind, m.value, m.ad, n.component FROM (
                SELECT kind, value, a AS ad FROM person_edges UNION SELECT kind, value, b FROM person_edges
            ) m JOIN networks n ON n.node = m.ad
            """,
        )
        engine.table(
            "person_edges",
            """
            SELECT ad AS a, MIN(ad) OVER (PARTITION BY kind, value, component) AS b, kind, value
            FROM _person_members
            """,
        )
    engine.connected_components("person_edges", "_net_nodes", "_persons_by_ads")
    _namesakes(engine, params.person_namesakes)
    engine.table(
        "_person_edges_named",
        "SELECT a, b FROM person_edges UNION ALL SELECT x AS a, y AS b FROM person_namesakes",
    )
    engine.connected_components("_person_edges_named", "_net_nodes", "persons")


def _namesakes(engine: Engine, on: bool = True) -> None:
    """Table ``person_namesakes(x, y, name, reason)``: two persons of one network (``x < y``, each
    its smallest ad key) that are one woman by her name.

    Inside one operation, the ads of one name are one woman's unless their ages say otherwise: a
    burner's stops under new numbers keep the name she works under. Two persons of one network
    join when they state one name, no age of one is beside an age of the other without one in
    common, and they share an age or a city (one name in two cities with no age is as often two
    women of a large operation). Persons are those the ads' own links made (`link_components`),
    judged pair by pair on what each holds, so the order of the pairs decides nothing.
    """
    engine.table(
        "_person_traits",
        """
        SELECT p.component AS person, w.component AS network, n.name, CAST(NULL AS INTEGER) AS age,
               CAST(NULL AS STRING) AS city
        FROM _persons_by_ads p JOIN networks w ON w.node = p.node JOIN link_names n ON n.ad_key = p.node
        UNION
        SELECT p.component, w.component, NULL, CASE WHEN f.ages = 1 THEN f.age END, f.city
        FROM _persons_by_ads p JOIN networks w ON w.node = p.node JOIN link_facts f ON f.ad_key = p.node
        """,
    )
    engine.table(
        "_person_named_pairs",
        """
        SELECT a.person AS x, b.person AS y, MIN(a.name) AS name
        FROM _person_traits a
        JOIN _person_traits b ON b.network = a.network AND b.name = a.name AND a.person < b.person
        GROUP BY a.person, b.person
        """,
    )
    engine.table(
        "_person_pair_agree",
        """
        SELECT p.x, p.y, p.name,
               COUNT(DISTINCT ax.age) AS ages_x, COUNT(DISTINCT ay.age) AS ages_y,
               COUNT(DISTINCT CASE WHEN ax.age = ay.age THEN ax.age END) AS same_age,
               MIN(CASE WHEN ax.age = ay.age THEN ax.age END) AS age
        FROM _person_named_pairs p
        LEFT JOIN _person_traits ax ON ax.person = p.x AND ax.age IS NOT NULL
        LEFT JOIN _person_traits ay ON ay.person = p.y AND ay.age IS NOT NULL
        GROUP BY p.x, p.y, p.name
        """,
    )
    engine.table(
        "_namesake_candidates",
        f"""
        SELECT g.x, g.y, g.name, g.same_age, g.ages_x, g.ages_y,
               'name ' || g.name || CASE WHEN g.same_age > 0
                    THEN ', age ' || CAST(g.age AS STRING)
                    ELSE ', ' || MIN(cy.city) || ', no age against it' END AS reason
        FROM _person_pair_agree g
        LEFT JOIN _person_traits cx ON cx.person = g.x AND cx.city IS NOT NULL
        LEFT JOIN _person_traits cy ON cy.person = g.y AND cy.city = cx.city
        WHERE {"TRUE" if on else "FALSE"} AND (g.same_age > 0 OR g.ages_x = 0 OR g.ages_y = 0)
        GROUP BY g.x, g.y, g.name, g.same_age, g.ages_x, g.ages_y, g.age
        HAVING g.same_age > 0 OR COUNT(cy.city) > 0
        """,
    )
    # A person who states no age joins by a city only when the namesakes it would join state one
    # age among them: Mia of 22 and Mia of 30 in one city stay two women, and a Mia of no age
    # between them joins neither (she would chain them).
    engine.table(
        "_namesake_torn",
        """
        WITH ageless AS (
            SELECT x AS z, y AS other FROM _namesake_candidates WHERE same_age = 0 AND ages_x = 0
            UNION ALL
            SELECT y AS z, x AS other FROM _namesake_candidates WHERE same_age = 0 AND ages_y = 0
        )
        SELECT a.z FROM ageless a JOIN _person_traits t ON t.person = a.other AND t.age IS NOT NULL
        GROUP BY a.z HAVING COUNT(DISTINCT t.age) > 1
        """,
    )
    engine.table(
        "person_namesakes",
        """
        SELECT c.x, c.y, c.name, c.reason FROM _namesake_candidates c
        LEFT JOIN _namesake_torn tx ON tx.z = c.x
        LEFT JOIN _namesake_torn ty ON ty.z = c.y
        WHERE c.same_age > 0 OR (tx.z IS NULL AND ty.z IS NULL)
        """,
    )


def _net_edges(engine: Engine) -> None:
    """Table ``net_edges``: every strong edge, and the weak edges inside one core or between two
    cores that `_weak_joins` lets join."""
    engine.table(
        "net_edges",
        """
        SELECT a, b, kind, value FROM _strong_edges
        UNION ALL
        SELECT w.a, w.b, w.kind, w.value
        FROM _weak_cores w LEFT JOIN _weak_joins j ON j.x = w.x AND j.y = w.y
        WHERE w.x = w.y OR j.x IS NOT NULL
        """,
    )


def _weak_joins(engine: Engine, params: LinkParams) -> None:
    """Tables ``_weak_cores`` (each weak edge with the cores ``x <= y`` of its ends) and
    ``_weak_joins(x, y)``: the pairs of cores (``x < y``) that weak links may join.

    A near-duplicate text, a near-identical photo or an exact photo beside more numbers than one
    owner's (`image_own`) between two cores is something two unrelated advertisers can share: a
    popular text copied from a well-performing ad, a photo from the same stock. It joins them when
    something independent agrees: a second kind of weak link between the same two cores (text and
    photo), two different photos each matching or shared (a re-uploaded set, not one chance
    likeness), the same self-stated name in both (with the same age where both state one beside
    it), or posts in the same city within days of each
    other in two cities or more. A text joins on its own only when every piece the two ads share
    is beside no more phone numbers (``text_pairs.holders``) than one writer's text is
    (``text_own``, from the data) and what they share is no chance among all pairs of ads. A weak
    phone (`phone_groups`: beside numbers of several unrelated holders) is a kind of its own: it
    joins with a text or a photo, or with posts together in two cities, but not with a shared name
    alone (among its holders, two share a name by chance).
    """
    # A weak exact image (`image_own`) or phone (`phone_groups`): in each core holding it, its
    # holders to the core's first (within one core, x = y: kept with the core's other edges), and
    # the firsts of every two cores to each other (to be judged). Cores are the scope's
    # (`_net_nodes`). An image is a photo part (two different ones agree); a phone is a kind of
    # its own (it agrees with a text or a photo).
    engine.table(
        "_weak_value_cores",
        """
        SELECT i.kind, i.value, c.component, MIN(i.ad_key) AS first_ad
        FROM _weak_values i JOIN _cores c ON c.node = i.ad_key
        GROUP BY i.kind, i.value, c.component
        """,
    )
    engine.table(
        "_weak_cores",
        """
        SELECT w.a, w.b, w.kind, w.value, w.holders,
               LEAST(ca.component, cb.component) AS x, GREATEST(ca.component, cb.component) AS y,
               CASE WHEN ca.component < cb.component THEN w.part_a ELSE w.part_b END AS part_x,
               CASE WHEN ca.component < cb.component THEN w.part_b ELSE w.part_a END AS part_y
        FROM _weak_edges w
        JOIN _cores ca ON ca.node = w.a
        JOIN _cores cb ON cb.node = w.b
        UNION ALL
        SELECT i.ad_key AS a, f.first_ad AS b, i.kind, i.value, 0 AS holders,
               f.component AS x, f.component AS y,
               CASE WHEN i.kind = 'image' THEN i.value END AS part_x,
               CASE WHEN i.kind = 'image' THEN i.value END AS part_y
        FROM _weak_values i
        JOIN _cores c ON c.node = i.ad_key
        JOIN _weak_value_cores f ON f.kind = i.kind AND f.value = i.value AND f.component = c.component
        UNION ALL
        SELECT fx.first_ad AS a, fy.first_ad AS b, fx.kind, fx.value, 0 AS holders,
               fx.component AS x, fy.component AS y,
               CASE WHEN fx.kind = 'image' THEN fx.value END AS part_x,
               CASE WHEN fx.kind = 'image' THEN fx.value END AS part_y
        FROM _weak_value_cores fx
        JOIN _weak_value_cores fy
          ON fy.kind = fx.kind AND fy.value = fx.value AND fx.component < fy.component
        """,
    )
    engine.table(
        "_weak_core_pairs",
        """
        SELECT w.x, w.y,
               COUNT(DISTINCT CASE WHEN w.kind IN ('text', 'phone') THEN w.kind ELSE 'photo' END) AS kinds,
               MAX(CASE WHEN w.kind = 'text' AND w.holders <= t.holders THEN 1 ELSE 0 END) AS own_text,
               LEAST(COUNT(DISTINCT part_x), COUNT(DISTINCT part_y)) AS photos,
               MAX(CASE WHEN w.kind = 'phone' THEN 0 ELSE 1 END) AS not_phone
        FROM _weak_cores w CROSS JOIN text_own t WHERE w.x <> w.y GROUP BY w.x, w.y
        """,
    )
    # Each name a core's ads state with the ages stated beside it (`link_facts`: an ad's one
    # stated age), or once with no age when no ad of the core states one beside it.
    engine.table(
        "_core_name_ages",
        """
        SELECT DISTINCT c.component, n.name, CASE WHEN f.ages = 1 THEN f.age END AS age
        FROM _cores c JOIN link_names n ON n.ad_key = c.node
        LEFT JOIN link_facts f ON f.ad_key = c.node
        """,
    )
    engine.table(
        "_core_names",
        """
        SELECT component, name, age FROM _core_name_ages WHERE age IS NOT NULL
        UNION ALL
        SELECT component, name, NULL AS age FROM _core_name_ages
        GROUP BY component, name HAVING COUNT(age) = 0
        """,
    )
    # The same name, and the same age where both state one beside it: two Emilys of 27 and 35 who
    # copied one text are two women. Exactly the same: with one a year older (a birthday, or one
    # of the many women of her name a year apart) it was chance as often as not on a corpus
    # written apart from the generator.
    engine.table(
        "_weak_named",
        """
        SELECT DISTINCT p.x, p.y
        FROM _weak_core_pairs p
        JOIN _core_names nx ON nx.component = p.x
        JOIN _core_names ny ON ny.component = p.y AND ny.name = nx.name
        WHERE p.kinds < 2 AND p.own_text = 0 AND p.photos < 2 AND p.not_phone = 1
          AND (nx.age IS NULL OR ny.age IS NULL OR nx.age = ny.age)
        """,
    )
    # Together in two cities or more: both groups posted in the same city within the window of
    # each other, in at least two cities (an operation moves its persons together; two strangers
    # who copied one text meet in one city now and then, rarely in two), and at least half the
    # placed ads of the smaller group were beside the other's so (two operations touring one
    # region's few cities meet in two of them within weeks, but most of the time apart).
    window = max(1, math.ceil(params.corroboration_window_days))
    engine.table(
        "_weak_met",
        f"""
        WITH judged AS (
            SELECT p.x, p.y FROM _weak_core_pairs p
            LEFT JOIN _weak_named n ON n.x = p.x AND n.y = p.y
            WHERE p.kinds < 2 AND p.own_text = 0 AND p.photos < 2 AND n.x IS NULL
        ), visits AS (
            SELECT c.component, v.ad_key, v.city, v.seen_at
            FROM _cores c JOIN _ad_visits v ON v.ad_key = c.node
        ), met AS (
            SELECT DISTINCT j.x, j.y, vx.ad_key AS ad_x, vy.ad_key AS ad_y, vx.city
            FROM judged j
            JOIN visits vx ON vx.component = j.x
            JOIN visits vy ON vy.component = j.y AND vy.city = vx.city
            WHERE vy.seen_at BETWEEN vx.seen_at - INTERVAL '{window}' DAY
                                 AND vx.seen_at + INTERVAL '{window}' DAY
        ), placed AS (
            SELECT component, COUNT(*) AS ads FROM visits GROUP BY component
        )
        SELECT m.x, m.y
        FROM met m JOIN placed px ON px.component = m.x JOIN placed py ON py.component = m.y
        GROUP BY m.x, m.y, px.ads, py.ads
        HAVING COUNT(DISTINCT m.city) >= 2
           AND CASE WHEN px.ads <= py.ads THEN COUNT(DISTINCT m.ad_x) * 2 >= px.ads
                    ELSE COUNT(DISTINCT m.ad_y) * 2 >= py.ads END
        """,
    )
    engine.table(
        "_weak_joins",
        """
        SELECT p.x, p.y FROM _weak_core_pairs p
        LEFT JOIN _weak_named n ON n.x = p.x AND n.y = p.y
        LEFT JOIN _weak_met m ON m.x = p.x AND m.y = p.y
        WHERE p.kinds >= 2 OR p.own_text = 1 OR p.photos >= 2 OR n.x IS NOT NULL OR m.x IS NOT NULL
        """,
    )


def _within(edges: str, scope: str | None) -> str:
    if scope is None:
        return f"SELECT * FROM {edges}"
    return f"""
        SELECT e.* FROM {edges} e
        JOIN {scope} sa ON sa.ad_key = e.a
        JOIN {scope} sb ON sb.ad_key = e.b
    """
