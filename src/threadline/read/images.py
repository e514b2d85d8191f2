"""Image search: the stored images near-identical to a photo an analyst has (PDQ or pHash within
the radius linking and the watchlists use), with the ads that show them and their networks.

The photo's hashes are compared with every stored image's in one scan of ``images`` (four 64-bit
XORs and bit counts a row: a million images in a fraction of a second); the photo itself is never
stored. An image hidden (a hash-list match, or an ad stating an age under 18) is listed with why,
and never shown (`threadline.store.hashlists`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from threadline.extract.images import pdq_bits_sql, phash_bits_sql
from threadline.link.steps import LinkParams

__all__ = ["PDQ_RADIUS", "PHASH_RADIUS", "ImageAd", "SimilarImage", "similar_images"]

PDQ_RADIUS: int = LinkParams().pdq_radius  # bits of 256: near-identical, as linking judges it
PHASH_RADIUS: int = LinkParams().phash_radius  # bits of 64
_ADS_PER_IMAGE = 20


@dataclass(frozen=True, slots=True)
class ImageAd:
    source: str
    id: str
    network: str | None
    person: str | None


@dataclass(frozen=True, slots=True)
class SimilarImage:
    """A stored image near the photo: how near, and the ads showing it (the first twenty)."""

    sha256: str
    pdq_bits: int
    phash_bits: int
    width: int | None
    height: int | None
    ads: tuple[ImageAd, ...]
    ad_count: int
    hidden: str | None = None  # why it is never shown blurred (`threadline.store.hashlists`)


def similar_images(
    con: duckdb.DuckDBPyConnection, pdq: str, phash: str, *, limit: int = 50
) -> list[SimilarImage]:
    """Stored images within `PDQ_RADIUS` bits of ``pdq`` or `PHASH_RADIUS` of ``phash`` (hex),
    nearest first, with their ads."""
    rows = con.execute(
        f"""
        WITH near AS (
            SELECT i.sha256, i.width, i.height, {pdq_bits_sql("i.pdq", "q.pdq")} AS pdq_bits,
                   {phash_bits_sql("i.phash", "q.phash")} AS phash_bits
            FROM images i, (SELECT ?::VARCHAR AS pdq, ?::VARCHAR AS phash) q
            WHERE i.pdq IS NOT NULL AND i.phash IS NOT NULL
        )
        SELECT sha256, pdq_bits, phash_bits, width, height FROM near
        WHERE (pdq_bits <= {PDQ_RADIUS} OR phash_bits <= {PHASH_RADIUS})
          AND sha256 IN (SELECT sha256 FROM ad_images)
        ORDER BY least(pdq_bits / 4.0, phash_bits::DOUBLE), sha256
        LIMIT ?
        """,
        [pdq, phash, limit],
    ).fetchall()
    shas = [r[0] for r in rows]
    ads: dict[str, list[ImageAd]] = {}
    counts: dict[str, int] = {}
    for sha, source, ad_id, network, person, n in con.execute(
        f"""
        WITH shown AS (
            SELECT DISTINCT sha256, source, ad_id FROM ad_images WHERE sha256 IN (SELECT unnest(?))
        )
        SELECT s.sha256, s.source, s.ad_id, l.network, l.person, count(*) OVER (PARTITION BY s.sha256)
        FROM shown s LEFT JOIN ad_links l ON l.source = s.source AND l.id = s.ad_id
        QUALIFY row_number() OVER (PARTITION BY s.sha256 ORDER BY l.network NULLS LAST, s.source, s.ad_id)
                <= {_ADS_PER_IMAGE}
        """,
        [shas],
    ).fetchall():
        ads.setdefault(sha, []).append(ImageAd(source, ad_id, network, person))
        counts[sha] = int(n)
    from threadline.store.hashlists import hidden_images

    hidden = hidden_images(con, shas)
    return [
        SimilarImage(sha, int(p), int(h), w, ht, tuple(ads.get(sha, ())), counts.get(sha, 0), hidden.get(sha))
        for sha, p, h, w, ht in rows
    ]
