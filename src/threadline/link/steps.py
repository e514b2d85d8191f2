"""Linking as set-based SQL steps, written once for every engine.

From the store's latest ad versions and their extractions, the steps build:

* ``hubs``: identifiers and images that tie together ads of many unrelated posters (a site's
  support number in every footer, a stock photo). Detected from the data by the diversity of what
  they join: the number of *other* phone numbers seen in the ads that carry them. They are shown,
  never trusted for linking; an analyst can mark or unmark one.
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

from dataclasses import dataclass

from threadline.link.constraints import separate
from threadline.link.engine import Engine

__all__ = ["LinkParams", "build_inputs", "detect_hubs", "image_pairs", "link_components"]

ID_KINDS = ("phone", "email", "handle")


@dataclass(frozen=True, slots=True)
class LinkParams:
    """Thresholds of the linking steps; stored beside every result so runs can be compared."""

    # A value seen with this many other phone numbers is a hub. An operation's own phone meets
    # its persons' few numbers; a site's footer number meets thousands.
    hub_co_phones: int = 20
    # Near-identical images: PDQ's own match threshold (of 256 bits), and pHash (of 64 bits),
    # which still matches the crops PDQ misses.
    pdq_radius: int = 31
    phash_radius: int = 8
    pdq_min_quality: int = 50
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
    # ... and only if what the two ads share in the same order is unlikely by chance among all
    # pairs of N ads: the sum of ln(N / ads carrying it) over the shared sentence pairs must exceed
    # ln(N^2) by this many nats (e^6: some 400 times fewer chance matches than pairs compared).
    text_min_surprise: float = 6.0


def _values(n: int) -> str:
    return "(VALUES " + ", ".join(f"({i})" for i in range(n)) + ") AS t(i)"


def build_inputs(engine: Engine) -> None:
    """Link inputs from the store: ``link_ads``, ``link_ids``, ``link_names``, ``link_images``."""
    engine.table(
        "link_ads",
        """
        SELECT k.ad_key, a.source, a.id, a.version, a.posted_at, a.location
        FROM latest_ads a JOIN ad_keys k ON k.source = a.source AND k.id = a.id
        """,
    )
    kinds = ", ".join(f"'{k}'" for k in ID_KINDS)
    engine.table(
        "link_ids",
        f"""
        SELECT DISTINCT l.ad_key, e.kind, e.value
        FROM extractions e
        JOIN link_ads l ON e.source = l.source AND e.ad_id = l.id AND e.version = l.version
        WHERE e.kind IN ({kinds})
        """,
    )
    engine.table(
        "link_names",
        """
        SELECT DISTINCT l.ad_key, e.value AS name
        FROM extractions e
        JOIN link_ads l ON e.source = l.source AND e.ad_id = l.id AND e.version = l.version
        WHERE e.kind = 'name'
        """,
    )
    engine.table(
        "link_images",
        """
        SELECT DISTINCT l.ad_key, i.sha256, i.pdq, i.pdq_quality, i.phash
        FROM ad_images ai
        JOIN link_ads l ON ai.source = l.source AND ai.ad_id = l.id AND ai.version = l.version
        JOIN images i ON i.sha256 = ai.sha256
        """,
    )


def detect_hubs(engine: Engine, params: LinkParams) -> None:
    """Table ``hubs(kind, value, ads, co_phones, names, detected, is_hub)``.

    ``detected`` is the data's verdict, ``is_hub`` the one linking uses: an analyst's mark in
    ``hub_marks`` overrides the data.
    """
    engine.table(
        "_values",
        """
        SELECT ad_key, kind, value FROM link_ids
        UNION ALL SELECT ad_key, 'image' AS kind, sha256 AS value FROM link_images
        """,
    )
    engine.table(
        "hubs",
        f"""
        WITH co AS (
            SELECT v.kind, v.value, COUNT(DISTINCT p.value) AS co_phones
            FROM _values v JOIN link_ids p ON p.ad_key = v.ad_key AND p.kind = 'phone'
            WHERE NOT (v.kind = 'phone' AND p.value = v.value)
            GROUP BY v.kind, v.value
        ), named AS (
            SELECT v.kind, v.value, COUNT(DISTINCT n.name) AS names
            FROM _values v JOIN link_names n ON n.ad_key = v.ad_key
            GROUP BY v.kind, v.value
        ), counted AS (
            SELECT kind, value, COUNT(DISTINCT ad_key) AS ads FROM _values GROUP BY kind, value
        )
        SELECT c.kind, c.value, c.ads, COALESCE(co.co_phones, 0) AS co_phones,
               COALESCE(named.names, 0) AS names,
               COALESCE(co.co_phones, 0) >= {params.hub_co_phones} AS detected,
               COALESCE(m.is_hub, COALESCE(co.co_phones, 0) >= {params.hub_co_phones}) AS is_hub,
               m.analyst AS marked_by
        FROM counted c
        LEFT JOIN co ON co.kind = c.kind AND co.value = c.value
        LEFT JOIN named ON named.kind = c.kind AND named.value = c.value
        LEFT JOIN hub_marks m ON m.kind = c.kind AND m.value = c.value
        """,
    )


def image_pairs(engine: Engine, params: LinkParams) -> None:
    """Table ``image_pairs(sha_a, sha_b, pdq_distance, phash_distance)`` of near-identical images.

    Candidates share one 16-bit chunk of their PDQ (16 chunks) or pHash (4 chunks) hash: by the
    pigeonhole principle every pair within 15 (PDQ) or 3 (pHash) bits shares one, and most pairs
    within the wider match radius do too. Candidates are then checked on the full hashes.
    """
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


def link_components(engine: Engine, scope: str | None = None) -> None:
    """Tables ``net_edges``, ``person_edges``, ``networks(node, component)``, ``persons(...)``.

    With ``scope`` (a table of ``ad_key``, closed under links: see `incremental`) only those ads
    are clustered; the others keep what the last run gave them.

    Networks join ads over every trusted (non-hub) identifier, image, near-duplicate text (an
    operation's template: one writer, possibly many persons) and analyst merge. Persons
    join, inside a network, ads that show the same photos, or the same identifier under the same
    self-stated name, or an identifier only ever used under one name (an independent's phone).
    """
    engine.table(
        "_trusted_ids",
        """
        SELECT i.ad_key, i.kind, i.value
        FROM link_ids i JOIN hubs h ON h.kind = i.kind AND h.value = i.value
        WHERE NOT h.is_hub
        """,
    )
    engine.table(
        "_trusted_images",
        """
        SELECT i.ad_key, i.sha256
        FROM link_images i JOIN hubs h ON h.kind = 'image' AND h.value = i.sha256
        WHERE NOT h.is_hub
        """,
    )
    # The first ad showing each image, and near-identical images joined through those.
    engine.table(
        "_image_first",
        "SELECT sha256, MIN(ad_key) AS first_ad FROM _trusted_images GROUP BY sha256",
    )
    engine.table(
        "_image_edges",
        """
        SELECT i.ad_key AS a, f.first_ad AS b, 'image' AS kind, i.sha256 AS value
        FROM _trusted_images i JOIN _image_first f ON f.sha256 = i.sha256
        UNION ALL
        SELECT fa.first_ad AS a, fb.first_ad AS b, 'similar_image' AS kind,
               p.sha_a || ' ' || p.sha_b AS value
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
    engine.table(
        "_net_edges_all",
        """
        SELECT t.ad_key AS a, MIN(t.ad_key) OVER (PARTITION BY t.kind, t.value) AS b, t.kind, t.value
        FROM _trusted_ids t
        UNION ALL SELECT a, b, kind, value FROM _image_edges
        UNION ALL
        SELECT ad_a AS a, ad_b AS b, 'text' AS kind,
               'jaccard ' || CAST(ROUND(jaccard, 2) AS STRING) || ', ' || CAST(shared AS STRING)
               || ' sentences' AS value
        FROM text_pairs
        UNION ALL
        SELECT ad_key AS a, MIN(ad_key) OVER (PARTITION BY decision_id) AS b, 'analyst_merge' AS kind,
               'decision ' || CAST(decision_id AS STRING) || ' by ' || analyst AS value
        FROM _decision_ads WHERE decision = 'merge'
        """,
    )
    engine.table("_net_nodes", f"SELECT ad_key AS node FROM {scope or 'link_ads'}")
    engine.table("net_edges", _within("_net_edges_all", scope))
    engine.connected_components("net_edges", "_net_nodes", "networks")
    cut = separate(engine)  # analysts' "not linked" and splits: cut the fewest links (constraints)
    # Identifiers used under exactly one name (or none) identify one person; others (an
    # operation's shared phone) only together with the name.
    engine.table(
        "_person_edges_all",
        """
        WITH named AS (
            SELECT t.ad_key, t.kind, t.value, n.name
            FROM _trusted_ids t LEFT JOIN link_names n ON n.ad_key = t.ad_key
        ), single AS (
            SELECT kind, value FROM named GROUP BY kind, value HAVING COUNT(DISTINCT name) <= 1
        )
        SELECT n.ad_key AS a, MIN(n.ad_key) OVER (PARTITION BY n.kind, n.value) AS b, n.kind, n.value
        FROM named n JOIN single s ON s.kind = n.kind AND s.value = n.value
        UNION ALL
        SELECT ad_key AS a, MIN(ad_key) OVER (PARTITION BY kind, value, name) AS b,
               'named_' || kind AS kind, value || ' ' || name AS value
        FROM named WHERE name IS NOT NULL
        UNION ALL SELECT a, b, kind, value FROM _image_edges
        """,
    )
    engine.table("person_edges", _within("_person_edges_all", scope))
    if cut:
        # A person never spans two networks: drop person links across a cut. (In two steps: as one
        # three-way join, the planner may join the networks table to itself on the component.)
        engine.table(
            "_person_edges_a",
            "SELECT e.*, n.component AS component_a FROM person_edges e JOIN networks n ON n.node = e.a",
        )
        engine.table(
            "person_edges",
            """
            SELECT e.a, e.b, e.kind, e.value FROM _person_edges_a e
            JOIN networks n ON n.node = e.b AND n.component = e.component_a
            """,
        )
    engine.connected_components("person_edges", "_net_nodes", "persons")


def _within(edges: str, scope: str | None) -> str:
    if scope is None:
        return f"SELECT * FROM {edges}"
    return f"""
        SELECT e.* FROM {edges} e
        JOIN {scope} sa ON sa.ad_key = e.a
        JOIN {scope} sb ON sb.ad_key = e.b
    """
