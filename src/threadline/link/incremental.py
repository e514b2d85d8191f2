"""Which ads a link run must cluster again, so that new ads do not recompute the whole archive.

The indexes (identifiers, hub statistics, image and text pairs) are cheap set-based queries; the
clustering and the saved results are what grows with the archive. A run clusters again only the
*affected* ads: the ads that are new or changed since the last run, the ads that share a trusted
identifier, a similar image or a similar text with them, the holders of every value whose hub
status flipped, both ends of every similar-image or similar-text pair that appeared or
disappeared, the ads of analysts' decisions made or revoked since the last run and the ends of
the links cut for separations, and the whole previous networks of all of those. That set is closed under the
links of the new graph (an ad linked to it either was in one of those networks already, or is
linked through something new, which is in the set), so clustering it alone gives exactly the
components, and so the ids, of a full run over everything (tested against one).

Phone tenures (`steps._phone_tenures`) need no rule of their own. A tenure's value is its number
and its first day, fixed by its own sightings, and sightings change only with new or changed ads.
So an unchanged ad's value changes only when a changed ad joins its tenure (extends it, bridges
it to another: the changed ad carries the new value, whose holders are affected) or leaves it
(the changed ad's previous network, which held the tenure if it was trusted, is affected), and a
value no earlier run had is "flipped" (it has no verdict in ``link_hubs``): its holders are
affected too. A value an earlier run had can come to an unchanged ad only through a changed ad
that carries it: two tenures of a number never begin on the same day.
"""

from __future__ import annotations

from threadline.engine import Engine
from threadline.link.steps import LinkParams, image_own

__all__ = ["affected_ads"]


def affected_ads(engine: Engine, params: LinkParams) -> None:
    """Table ``_affected(ad_key)``; needs the tables a link run builds before clustering."""
    # A text pair's holders matter to clustering only as hub or not (`steps._weak_joins`); a run
    # whose threshold differs from the last one's is full (`link.link`).
    own = "CASE WHEN holders <= (SELECT holders FROM text_own) THEN 1 ELSE 0 END"
    engine.table(
        "_dirty",
        """
        SELECT l.ad_key FROM link_ads l
        LEFT JOIN ad_links p ON p.ad_key = l.ad_key AND p.version = l.version
        WHERE p.ad_key IS NULL
        """,
    )
    # An image's holders are linked strongly, weakly (`steps.image_own`) or not at all (a hub): a
    # change of either verdict flips it. The holders of a weak image are not linked to each other
    # and are judged as groups: when its holders change (an ad shows it no more: its row's counts
    # change), the others are affected too.
    engine.table(
        "_flipped",
        f"""
        SELECT h.kind, h.value FROM hubs h
        LEFT JOIN link_hubs o ON o.kind = h.kind AND o.value = h.value
        CROSS JOIN text_own t
        WHERE o.is_hub IS NULL OR o.is_hub <> h.is_hub
           -- a phone marked no hub is strong whatever its groups (`steps.phone_groups`)
           OR (h.kind = 'phone' AND COALESCE(o.marked_by, '') <> COALESCE(h.marked_by, ''))
           OR (h.kind = 'image' AND NOT h.is_hub AND (
               {image_own("h")} <> {image_own("o")}
               OR (NOT {image_own("h")} AND (o.ads <> h.ads OR o.co_phones <> h.co_phones))))
        """,
    )
    engine.table(
        "_text_changes",
        _changes("text_pairs", "link_text_pairs", f"ad_a, ad_b, jaccard, shared, {own} AS own"),
    )
    engine.table("_image_changes", _changes("image_pairs", "link_image_pairs", "sha_a, sha_b"))
    # Both ends of every pair, as (one end, the other): equality joins only, since a join on
    # "a = x OR b = x" is a nested loop over all pairs.
    # A weak exact image (held beside more numbers than one owner's: `steps.image_own`) is a weak
    # link between all its holders: an end of itself.
    engine.table(
        "_image_ends",
        f"""
        SELECT sha_a AS sha, sha_b AS other FROM image_pairs UNION ALL SELECT sha_b, sha_a FROM image_pairs
        UNION ALL
        SELECT h.value, h.value FROM hubs h CROSS JOIN text_own t
        WHERE h.kind = 'image' AND NOT h.is_hub AND NOT {image_own("h")}
        """,
    )
    # The pairs, not their probabilities or reasons: those move with every new ad of the name, and
    # the evidence that shows them is written again for every network on each run
    # (`corroboration.save_corroboration`).
    engine.table("_orphan_changes", _changes("orphan_pairs", "link_orphan_pairs", "orphan, other"))
    engine.table(
        "_orphan_ends",
        "SELECT orphan AS ad, other FROM orphan_pairs UNION ALL SELECT other, orphan FROM orphan_pairs",
    )
    engine.table(
        "_text_ends",
        "SELECT ad_a AS ad, ad_b AS other FROM text_pairs UNION ALL SELECT ad_b, ad_a FROM text_pairs",
    )
    engine.table(
        "_seed",
        """
        SELECT ad_key FROM _dirty
        UNION
        -- holders of the trusted values the changed ads carry
        SELECT v.ad_key FROM _values v
        JOIN hubs h ON h.kind = v.kind AND h.value = v.value AND NOT h.is_hub
        JOIN (SELECT DISTINCT v2.kind, v2.value FROM _values v2 JOIN _dirty d ON d.ad_key = v2.ad_key) t
          ON t.kind = v.kind AND t.value = v.value
        UNION
        -- holders of values that became hubs or stopped being hubs
        SELECT v.ad_key FROM _values v JOIN _flipped f ON f.kind = v.kind AND f.value = v.value
        UNION
        -- the other side of similar images and texts that touch a changed ad
        SELECT i2.ad_key FROM _dirty d
        JOIN link_images i1 ON i1.ad_key = d.ad_key
        JOIN _image_ends e ON e.sha = i1.sha256
        JOIN link_images i2 ON i2.sha256 = e.other
        UNION
        SELECT e.other FROM _dirty d JOIN _text_ends e ON e.ad = d.ad_key
        UNION
        -- Similar texts depend on corpus-wide counts (boilerplate shares, how rare a sentence
        -- is), and an image index bucket can outgrow its cap: a pair between two unchanged ads
        -- can appear or disappear. Both ends of every pair that did are affected.
        SELECT ad_a FROM _text_changes UNION SELECT ad_b FROM _text_changes
        UNION
        -- corroboration pairs too (`corroboration.orphan_pairs`): a name grows more common, an ad
        -- comes to show a number another ad shows
        SELECT orphan FROM _orphan_changes UNION SELECT other FROM _orphan_changes
        UNION
        SELECT i.ad_key FROM _image_changes c JOIN link_images i ON i.sha256 = c.sha_a
        UNION
        SELECT i.ad_key FROM _image_changes c JOIN link_images i ON i.sha256 = c.sha_b
        UNION
        -- the ads of analysts' decisions made or revoked since the last run (a revoked merge or
        -- separation must come apart or together again)
        SELECT k.ad_key FROM analyst_decisions d
        JOIN analyst_decision_ads a ON a.decision_id = d.decision_id
        JOIN ad_keys k ON k.source = a.source AND k.id = a.id
        WHERE d.decided_at >= (SELECT COALESCE(MAX(finished), TIMESTAMP '1970-01-01') FROM link_runs)
           OR d.revoked_at >= (SELECT COALESCE(MAX(finished), TIMESTAMP '1970-01-01') FROM link_runs)
        UNION
        -- both ends of every link the last run cut: a cut can leave a piece of a network holding
        -- no decision's ad, which is joined to the rest only through the cut
        SELECT a FROM link_cuts UNION SELECT b FROM link_cuts
        """,
    )
    # Whether a phone is weak (`steps.phone_groups`) depends only on its holders' other values,
    # their verdicts and the text and image pairs between them: it can change only when one of
    # its holders is a seed (``text_own`` changed: a full run). Its holders are then seeds too: a
    # phone that turned strong joins networks none of which need hold a seed.
    engine.table(
        "_seed_phones",
        """
        SELECT s.ad_key FROM _seed s
        UNION
        SELECT i2.ad_key FROM _seed s
        JOIN link_ids i1 ON i1.ad_key = s.ad_key AND i1.kind = 'phone'
        JOIN hubs h ON h.kind = 'phone' AND h.value = i1.value AND NOT h.is_hub
        JOIN link_ids i2 ON i2.kind = 'phone' AND i2.value = i1.value
        """,
    )
    # Whole previous networks of the seeds, as a semi-join on the network: joining seed ads to
    # their network's ads row by row would square the size of a big network.
    engine.table("_near", _whole_networks("_seed_phones"))
    # An orphan that joins a group (or leaves it) brings its name, age and city to the group's
    # weak joins: its groups are followed along weak links below, and the groups those reach
    # judged with their orphans' corroborating ads after.
    _orphan_hops(engine)
    # A weak link (similar text or image) joins two groups only when corroborated, and what
    # corroborates it (the groups' names, their other weak links) changes with either group. A
    # core that changed is inside ``_near``; the cores at the other end of its weak links are
    # added, whole networks again, once for every round of weak joins (`steps.link_components`):
    # a group a round grew can reach one weak link further in the next. Cores further out did
    # not change, and nothing joined to them can.
    for _ in range(params.weak_rounds):
        engine.table(
            "_hop",
            """
            SELECT ad_key FROM _near
            UNION
            SELECT e.other FROM _near n JOIN _text_ends e ON e.ad = n.ad_key
            UNION
            SELECT i2.ad_key FROM _near n
            JOIN link_images i1 ON i1.ad_key = n.ad_key
            JOIN _image_ends e ON e.sha = i1.sha256
            JOIN link_images i2 ON i2.sha256 = e.other
            UNION
            -- a weak phone (`steps.phone_groups`) is a weak link between all its holders
            SELECT i2.ad_key FROM _near n
            JOIN link_ids i1 ON i1.ad_key = n.ad_key AND i1.kind = 'phone'
            JOIN weak_phones w ON w.value = i1.value
            JOIN link_ids i2 ON i2.kind = 'phone' AND i2.value = w.value
            """,
        )
        engine.table("_near", _whole_networks("_hop"))
    _orphan_hops(engine)
    engine.table("_affected", "SELECT ad_key FROM _near")


def _orphan_hops(engine: Engine) -> None:
    """Add to ``_near`` what an ad with nothing else to link it is judged with: it joins the one
    group of the ads that corroborate it (`steps.link_components`), so it and all of them are in
    the scope together. From a corroborating ad to the orphan, then to the orphan's other
    corroborating ads, and on until nothing is added (a corroborating ad of one orphan can be
    another's: every orphan in the scope must see all its groups); whole networks (adding an
    unchanged network whole keeps the scope closed).
    """
    while True:
        engine.table(
            "_hop",
            """
            SELECT DISTINCT e.other AS ad_key FROM _near n JOIN _orphan_ends e ON e.ad = n.ad_key
            WHERE e.other NOT IN (SELECT ad_key FROM _near)
            """,
        )
        [(new,)] = engine.query("SELECT COUNT(*) FROM _hop")
        if not new:
            return
        engine.table("_near_more", f"SELECT ad_key FROM _near UNION {_whole_networks('_hop')}")
        engine.table("_near", "SELECT ad_key FROM _near_more")


def _changes(now: str, last: str, columns: str) -> str:
    """SQL: the rows (``columns``) of this run's table ``now`` not in the last run's ``last``, and
    the other way round."""
    return f"""
        (SELECT {columns} FROM {now} EXCEPT SELECT {columns} FROM {last})
        UNION ALL
        (SELECT {columns} FROM {last} EXCEPT SELECT {columns} FROM {now})
    """


def _whole_networks(seed: str) -> str:
    return f"""
        SELECT ad_key FROM {seed}
        UNION
        SELECT p.ad_key FROM ad_links p
        WHERE p.network IN (SELECT DISTINCT p1.network FROM ad_links p1 JOIN {seed} s ON s.ad_key = p1.ad_key)
    """
