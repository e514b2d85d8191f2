"""Near-duplicate text: ads written from the same template, across cities, names and phones.

Input: the ``"sentence"`` extractions of the latest ad versions (see `threadline.extract.sentences`:
one 63-bit hash per distinct sentence with identifiers, numbers and names masked). Steps:

1. ``text_boilerplate``: sentences that say nothing about who wrote the ad: a site's footer and
   the lines that fill it, found from the data as sentences carried by more than
   ``text_boilerplate_share`` of one source's ads (once at least ``text_boilerplate_min_ads``
   ads carry them), dropped from that source's ads; and stock text seen beside more than
   ``text_boilerplate_co_phones`` distinct phone numbers, dropped everywhere.
2. Features: each ad's remaining sentences and each pair of consecutive ones. A template keeps
   its order; a chance mix of stock lines (the main risk: single lines are shared by thousands of
   unrelated ads) does not.
3. MinHash signatures of each ad's features, computed in SQL with a portable hash family
   ``h_k(x) = (a_k * (x mod P) + b_k) mod P``, ``P = 2^31 - 1``, ``a_k, b_k < 2^31`` drawn from a
   seeded generator: every product stays below 2^63, so any SQL engine gives the same signature.
   The parameters (scheme, seed, permutations, rows per band) are part of `LinkParams` and
   recorded with every run.
4. LSH banding: ads agreeing on all the minima of one band (``rows`` of them) are candidates.
   Buckets larger than ``text_max_bucket`` are joined as a star to their first ad instead of
   pairwise, so a template posted ten thousand times costs ten thousand candidates, not 10^8.
5. Verification on the exact feature sets. A pair links only if the two ads share at least
   ``text_min_shared`` sentences, ``text_min_shared_pairs`` consecutive pairs, a Jaccard
   similarity of ``text_min_jaccard`` (sentences and pairs together), and if what they share in
   order is unlikely by chance among one ad's N partners: the sum over the shared pairs of
   ln(N / ads carrying the pair) must exceed ln(N) by ``text_min_surprise`` nats.
6. Own or weak. Only a pair that also passes that test among all pairs of the N ads (ln(N^2),
   which grows with the corpus as chance matches do) can be its writer's own text; one that
   passes among one ad's partners only is a weak link (holders ``_CHANCE``), joining two groups
   only where something independent agrees (`steps._weak_joins`): an operation's prolific
   template (posted a hundred times, so each of its sentence pairs is common) still links its
   stops, and cannot chain strangers alone. And of the pieces (sentence pairs) two ads share in
   order, the one beside the most phone numbers (``_text_holders``) decides whether the text is
   its writer's own (`_text_hubs`): two copiers of a popular text who happen to share a rare
   reordering of it still share a popular text.

Output: ``text_pairs(ad_a, ad_b, jaccard, shared, shared_pairs, surprise, holders)`` with ``ad_a <
ad_b`` (ad keys). Text pairs join networks (an operation's template), never persons: one writer,
the controller, posts many persons.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import duckdb

from threadline.engine import Engine
from threadline.link.steps import LinkParams, input_rows

__all__ = ["MINHASH_PRIME", "boilerplate_examples", "minhash_coefficients", "text_hub_examples", "text_pairs"]

MINHASH_PRIME = 2**31 - 1
_PAIR_MIX = 1_000_003  # C above: any constant below 2^31 that is not a multiple of P
# The holders of a text an analyst marked a hub: more than any text has.
_MARKED_HUB = 1 << 40
# The holders given a pair whose shared text could be chance among all pairs of the archive (it
# passes the test among one ad's partners only): a weak link, never its writer's own.
_CHANCE = 1 << 39


def minhash_coefficients(params: LinkParams) -> list[tuple[int, int]]:
    """``(a_k, b_k)`` of each permutation: fixed by the seed, ``1 <= a < P``, ``0 <= b < P``."""
    if params.text_minhash_scheme != "ax+b mod 2^31-1":
        raise ValueError(f"unknown MinHash scheme {params.text_minhash_scheme!r}")
    rng = random.Random(params.text_minhash_seed)
    return [
        (rng.randrange(1, MINHASH_PRIME), rng.randrange(0, MINHASH_PRIME))
        for _ in range(params.text_minhash_perms)
    ]


def text_pairs(engine: Engine, params: LinkParams, *, sentences: str | None = None) -> None:
    """Tables ``text_boilerplate`` and ``text_pairs`` (see the module docstring).

    Needs ``link_ads``, ``link_ids`` and ``link_phone_ids`` (`steps.build_inputs`, `steps.detect_hubs`)
    and the store's ``extractions``, or ``sentences``: a relation of the latest versions' sentences
    as `steps.input_rows` reads them (the store's kept copy: `link.kept`).
    """
    perms, rows = params.text_minhash_perms, params.text_minhash_rows
    if rows < 1 or perms < rows or perms % rows:
        raise ValueError(f"{perms} MinHash permutations do not split into bands of {rows} rows")
    # Each ad's distinct sentences, with the position of their first sighting (title first).
    if sentences is None:
        engine.table("_text_sentences", input_rows(engine, "link_ads")["sentences"])
    src = sentences or "_text_sentences"
    _boilerplate(engine, params, src)
    p = MINHASH_PRIME
    # What is compared: each ad's sentences less boilerplate and, if asked, each pair of
    # consecutive ones (the order a template keeps and a chance mix of stock lines does not). A pair
    # (x, y) of sentences is the number r + P * (x mod P + 1), r = (x mod P * C + y mod P) mod P: it
    # is one number per pair of residues, below 2^63, and its own residue r (all MinHash reads)
    # mixes both sentences. Only ads with enough sentences to pass are kept.
    pairs = (
        f"""
        UNION ALL
        SELECT ad_key, ((prev % {p}) * {_PAIR_MIX} + h % {p}) % {p} + {p} * (prev % {p} + 1) AS h,
               0 AS sentence
        FROM (SELECT ad_key, h, LAG(h) OVER (PARTITION BY ad_key ORDER BY pos) AS prev FROM kept) q
        WHERE prev IS NOT NULL
        """
        if params.text_sentence_pairs
        else ""
    )
    # The surprise of a feature: ln(N / ads carrying it), N all ads linked, of the pairs (or of the
    # sentences, without pairs): what order says about a writer is carried by the pairs.
    order_kind = 0 if params.text_sentence_pairs else 1
    # At least one, so that the logarithms below are defined on an empty store.
    engine.table("_text_total", "SELECT GREATEST(COUNT(*), 1) AS ads FROM link_ads")
    engine.table(
        "_text_sets",
        f"""
        WITH kept AS (
            SELECT s.ad_key, s.h, s.pos
            FROM {src} s
            WHERE NOT EXISTS (SELECT 1 FROM text_boilerplate b WHERE b.h = s.h AND b.source = s.source)
        ), enough AS (
            SELECT ad_key FROM kept GROUP BY ad_key HAVING COUNT(*) >= {params.text_min_shared}
        ), features AS (
            SELECT DISTINCT f.ad_key, f.h, f.sentence
            FROM (SELECT ad_key, h, 1 AS sentence FROM kept {pairs}) f
            JOIN enough e ON e.ad_key = f.ad_key
        ), counted AS (
            SELECT ad_key, h, sentence, COUNT(*) OVER (PARTITION BY ad_key) AS n,
                   COUNT(*) OVER (PARTITION BY h) AS df
            FROM features
        )
        SELECT c.ad_key, c.h, c.sentence, c.n,
               CASE WHEN c.sentence = {order_kind} THEN LN(CAST(t.ads AS DOUBLE) / c.df) ELSE 0 END
               AS surprise
        FROM counted c CROSS JOIN _text_total t
        """,
    )
    minima = ",\n".join(
        f"MIN(({a} * (h % {p}) + {b}) % {p}) AS m{k}" for k, (a, b) in enumerate(minhash_coefficients(params))
    )
    engine.table("_text_minhash", f"SELECT ad_key, {minima} FROM _text_sets GROUP BY ad_key")
    cols = [f"r{i}" for i in range(rows)]
    engine.table(
        "_text_bands",
        "\nUNION ALL\n".join(
            f"SELECT ad_key, {band} AS band, "
            + ", ".join(f"m{band * rows + i} AS r{i}" for i in range(rows))
            + " FROM _text_minhash"
            for band in range(perms // rows)
        ),
    )
    key = ", ".join(["band", *cols])
    same = " AND ".join(f"{{x}}.{c} = {{y}}.{c}" for c in ["band", *cols])
    engine.table(
        "_text_buckets",
        f"""
        SELECT {key}, COUNT(*) AS n, MIN(ad_key) AS first_ad
        FROM _text_bands GROUP BY {key} HAVING COUNT(*) >= 2
        """,
    )
    engine.table(
        "_text_candidates",
        f"""
        SELECT a.ad_key AS a, b.ad_key AS b
        FROM _text_bands a
        JOIN _text_buckets k ON {same.format(x="k", y="a")}
        JOIN _text_bands b ON {same.format(x="b", y="a")}
        WHERE a.ad_key < b.ad_key AND k.n <= {params.text_max_bucket}
        UNION
        SELECT k.first_ad AS a, a.ad_key AS b
        FROM _text_bands a
        JOIN _text_buckets k ON {same.format(x="k", y="a")}
        WHERE k.n > {params.text_max_bucket} AND a.ad_key > k.first_ad
        """,
    )
    # Exact verification. The features of each candidate's first ad are laid out first, then
    # matched against the second ad's: two steps, so that no engine can choose to join the two
    # ads' sentences on the sentence alone (every ad carrying a stock line, squared).
    engine.table(
        "_text_candidate_features",
        """
        SELECT c.a, c.b, s.h, s.sentence, s.surprise, s.n AS na
        FROM _text_candidates c JOIN _text_sets s ON s.ad_key = c.a
        """,
    )
    # How many holders each shared piece of text has: the distinct phone numbers beside the
    # order features (sentence pairs, or sentences without pairs) carried by two ads or more.
    engine.table(
        "_text_holders",
        f"""
        SELECT s.h, COUNT(DISTINCT p.pid) AS holders
        FROM _text_sets s JOIN link_phone_ids p ON p.ad_key = s.ad_key
        CROSS JOIN _text_total t
        WHERE s.sentence = {order_kind} AND s.surprise < LN(CAST(t.ads AS DOUBLE))
        GROUP BY s.h
        """,
    )
    _text_hubs(engine, params, order_kind, src)
    engine.table(
        "text_pairs",
        f"""
        WITH shared AS (
            SELECT f.a, f.b, MIN(f.na) AS na, MIN(s.n) AS nb, COUNT(*) AS common, SUM(f.sentence) AS shared,
                   SUM(f.surprise) AS surprise,
                   MAX(CASE WHEN f.sentence = {order_kind} THEN
                       CASE WHEN m.is_hub THEN {_MARKED_HUB} ELSE COALESCE(o.holders, 0) END
                   END) AS holders,
                   MAX(CASE WHEN f.sentence = {order_kind} AND NOT m.is_hub THEN 1 ELSE 0 END) AS marked_own
            FROM _text_candidate_features f
            JOIN _text_sets s ON s.ad_key = f.b AND s.h = f.h
            LEFT JOIN _text_holders o ON o.h = f.h
            LEFT JOIN _text_marks m ON m.h = f.h
            GROUP BY f.a, f.b
        )
        SELECT a AS ad_a, b AS ad_b, CAST(common AS DOUBLE) / (na + nb - common) AS jaccard, shared,
               common - shared AS shared_pairs, surprise - 2 * LN(t.ads) AS surprise,
               CASE WHEN marked_own = 1 THEN 0
                    WHEN surprise - 2 * LN(t.ads) < {params.text_min_surprise} THEN {_CHANCE}
                    ELSE COALESCE(holders, 0) END AS holders
        FROM shared CROSS JOIN _text_total t
        WHERE shared >= {params.text_min_shared}
          AND common - shared >= {params.text_min_shared_pairs}
          AND CAST(common AS DOUBLE) / (na + nb - common) >= {params.text_min_jaccard}
          AND surprise - LN(t.ads) >= {params.text_min_surprise}
        """,
    )
    engine.drop(
        "_text_sentences",  # (made above when no relation was given)
        "_text_sets",
        "_text_minhash",
        "_text_bands",
        "_text_buckets",
        "_text_candidates",
        "_text_candidate_features",
        "_text_holders",
        "_text_marks",
        "_text_hub_pairs",
    )


def _text_hubs(engine: Engine, params: LinkParams, order_kind: int, src: str) -> None:
    """Tables ``text_own(holders)``, ``_text_marks(h, is_hub)`` and the text rows of ``hubs``.

    A text is a hub like a phone: a piece of text (a sentence pair, the order a template keeps)
    beside many unrelated numbers is one others copy (a well-performing ad, an ad-writing guide),
    and it never joins two groups on its own (`steps._weak_joins`). How many is "many" comes from
    the archive: a writer's text goes where her numbers go, so her own text sits beside no more
    numbers than a typical number does. ``text_own.holders`` is the median, over the numbers
    trusted for linking, of the numbers seen in their ads (the number itself and the others: an
    independent's one or two, more where operations rotate phones), and never less than two: one
    holder's numbers are two at least (a call and a text line, an old number and the new one it
    announces), even in an archive where most numbers stand alone (measured 1 on a corpus written
    apart from the generator, where an operation's booking line beside its old number and one
    worker's number then came out weak, and its 52 ads fell into 45 networks). A text beside more
    is held by more than one writer. Whether sharing a text is chance is decided apart, by its
    surprise (`LinkParams.text_min_surprise`).

    Hubs are listed as the two sentences' hashes (``"H1 H2"``; one hash without sentence pairs),
    the value an analyst marks (`mark-hub text`): a text marked a hub counts as held by everyone,
    one marked not a hub as its writer's own.
    """
    p = MINHASH_PRIME
    engine.table(
        "text_own",
        f"""
        SELECT GREATEST(COALESCE(MAX(m), 1), 2) AS holders FROM (
            SELECT percentile_disc({params.text_own_quantile}) WITHIN GROUP (ORDER BY co_phones + 1) AS m
            FROM hubs WHERE kind = 'phone' AND NOT is_hub
        ) q
        """,
    )
    first = "CAST(split_part(value, ' ', 1) AS BIGINT)"
    second = "CAST(split_part(value, ' ', 2) AS BIGINT)"
    feature = (
        f"(({first} % {p}) * {_PAIR_MIX} + {second} % {p}) % {p} + {p} * ({first} % {p} + 1)"
        if order_kind == 0
        else first
    )
    engine.table(
        "_text_marks",
        f"SELECT {feature} AS h, is_hub, value FROM hub_marks WHERE kind = 'text'",
    )
    # The pieces held by more than one writer, and the marked ones, spelled as their sentences.
    if order_kind == 0:
        engine.table(
            "_text_hub_pairs",
            f"""
            WITH wanted AS (
                SELECT o.h FROM _text_holders o CROSS JOIN text_own t WHERE o.holders > t.holders
                UNION SELECT h FROM _text_marks
            ), pairs AS (
                -- consecutive as in `_text_sets`: once the source's boilerplate is dropped
                SELECT ad_key, h, LAG(h) OVER (PARTITION BY ad_key ORDER BY pos) AS prev
                FROM {src} s
                WHERE NOT EXISTS (
                    SELECT 1 FROM text_boilerplate b WHERE b.h = s.h AND b.source = s.source
                )
            )
            SELECT DISTINCT w.h, CAST(q.prev AS STRING) || ' ' || CAST(q.h AS STRING) AS value
            FROM pairs q
            JOIN wanted w
              ON w.h = ((q.prev % {p}) * {_PAIR_MIX} + q.h % {p}) % {p} + {p} * (q.prev % {p} + 1)
            WHERE q.prev IS NOT NULL
            """,
        )
    else:
        engine.table(
            "_text_hub_pairs",
            """
            SELECT o.h, CAST(o.h AS STRING) AS value FROM _text_holders o CROSS JOIN text_own t
            WHERE o.holders > t.holders
            UNION SELECT h, value FROM _text_marks
            """,
        )
    engine.table(
        "_text_hub_rows",
        f"""
        WITH carried AS (
            SELECT DISTINCT s.ad_key, x.h, x.value
            FROM _text_sets s JOIN _text_hub_pairs x ON x.h = s.h AND s.sentence = {order_kind}
        ), counted AS (
            SELECT h, value, COUNT(DISTINCT ad_key) AS ads FROM carried GROUP BY h, value
        ), named AS (
            SELECT c.h, COUNT(DISTINCT n.name) AS names
            FROM carried c JOIN link_names n ON n.ad_key = c.ad_key GROUP BY c.h
        )
        SELECT 'text' AS kind, c.value, c.ads, COALESCE(o.holders, 0) AS co_phones,
               COALESCE(nm.names, 0) AS names, COALESCE(o.holders, 0) > t.holders AS detected,
               COALESCE(hm.is_hub, COALESCE(o.holders, 0) > t.holders) AS is_hub,
               hm.analyst AS marked_by
        FROM counted c
        CROSS JOIN text_own t
        LEFT JOIN _text_holders o ON o.h = c.h
        LEFT JOIN named nm ON nm.h = c.h
        LEFT JOIN hub_marks hm ON hm.kind = 'text' AND hm.value = c.value
        """,
    )
    engine.table("hubs", "SELECT * FROM hubs UNION ALL SELECT * FROM _text_hub_rows")
    engine.drop("_text_hub_rows")


def _boilerplate(engine: Engine, params: LinkParams, src: str) -> None:
    """Table ``text_boilerplate(h, source, ads, share, co_phones)``: the sentences dropped from the
    ads of each source, with their number of ads and share there, and the distinct phone numbers
    seen beside them anywhere where that number decided (NULL for a sentence every source carrying
    it drops by share). `boilerplate_examples` adds their readable form.

    Boilerplate is a site's: a sentence that fills a small site (a few writers' stock lines) is
    dropped from that site's ads only, where it says nothing, and still compared elsewhere.
    """
    engine.table(
        "text_boilerplate",
        f"""
        WITH source_ads AS (
            SELECT source, COUNT(*) AS ads FROM link_ads GROUP BY source
        ), per_source AS (
            SELECT s.h, s.source, COUNT(*) AS ads, CAST(COUNT(*) AS DOUBLE) / MIN(t.ads) AS share
            FROM {src} s JOIN source_ads t ON t.source = s.source
            GROUP BY s.h, s.source
        ), shared AS (
            SELECT *, ads >= {params.text_boilerplate_min_ads}
                      AND share > {params.text_boilerplate_share} AS by_share
            FROM per_source
        ), phones AS (
            SELECT ad_key, COUNT(*) AS n FROM link_phone_ids GROUP BY ad_key
        ), counted AS (
            -- The distinct phones beside a sentence (a costly distinct aggregate) decide only for
            -- sentences some source keeps by share, and only where the sum of each carrier's phone
            -- count (an upper bound) reaches the threshold.
            SELECT s.h FROM {src} s JOIN phones p ON p.ad_key = s.ad_key
            WHERE s.h IN (SELECT h FROM shared WHERE NOT by_share)
            GROUP BY s.h HAVING SUM(p.n) >= {params.text_boilerplate_co_phones}
        ), co AS (
            SELECT s.h, COUNT(DISTINCT p.pid) AS co_phones
            FROM {src} s JOIN link_phone_ids p ON p.ad_key = s.ad_key
            WHERE s.h IN (SELECT h FROM counted)
            GROUP BY s.h
        ), dropped AS (
            SELECT w.h, w.source, w.ads, w.share, co.co_phones
            FROM shared w LEFT JOIN co ON co.h = w.h
            WHERE w.by_share OR COALESCE(co.co_phones, 0) >= {params.text_boilerplate_co_phones}
        )
        SELECT h, source, ads, share, co_phones FROM dropped
        """,
    )


def boilerplate_examples(engine: Engine) -> None:
    """Table ``text_boilerplate_examples``: ``text_boilerplate`` with each sentence's readable
    (masked) form, for display. Kept out of the link run: it reads every sentence extraction again.
    """
    engine.table(
        "text_boilerplate_examples",
        f"""
        WITH examples AS (
            -- A sentence's masked text is the same in every ad and version carrying it.
            SELECT CAST(e.value AS BIGINT) AS h, MIN({engine.json_text("e.detail", "text")}) AS example
            FROM extractions e
            WHERE e.kind = 'sentence' AND e.value IN (SELECT CAST(h AS STRING) FROM text_boilerplate)
            GROUP BY CAST(e.value AS BIGINT)
        )
        SELECT b.*, x.example FROM text_boilerplate b LEFT JOIN examples x ON x.h = b.h
        """,
    )


# Sentence hashes' masked texts found so far. A sentence's value is the hash of its masked text
# (`threadline.extract.sentences`), so a hash names one text in every store, and sentence
# extractions are never deleted: a text found once is the answer for good. (A hash not found is
# not kept: an ad stored later may bring it.) Looking one up scans every sentence extraction.
_SENTENCE_TEXTS: dict[str, str] = {}
_SENTENCE_TEXTS_MAX = 200_000


def text_hub_examples(con: duckdb.DuckDBPyConnection, values: Sequence[str]) -> dict[str, str]:
    """The readable (masked) form of text hubs as `hubs` lists them (``"H1 H2"``: the sentences
    of a pair, each a sentence hash), for display: ``"first sentence / second sentence"``."""
    hashes = sorted({h for value in values for h in value.split()})
    if not hashes:
        return {}
    known = _SENTENCE_TEXTS
    text = {h: t for h in hashes if (t := known.get(h)) is not None}  # (another thread may clear it)
    missing = [h for h in hashes if h not in text]
    if missing:
        rows = con.execute(
            """
            SELECT value, MIN(json_extract_string(detail, '$.text')) FROM extractions
            WHERE kind = 'sentence' AND value IN (SELECT UNNEST(?::VARCHAR[])) GROUP BY value
            """,
            [missing],
        ).fetchall()
        found = {h: t for h, t in rows if t}
        text.update(found)
        if len(known) + len(found) > _SENTENCE_TEXTS_MAX:
            known.clear()
        known.update(found)
    return {value: " / ".join(text.get(h, "?") for h in value.split()) for value in values}
