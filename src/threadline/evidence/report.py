"""The package's report: one self-contained HTML page (no script, no network: its only
references are the package's own image files, by relative path) and the same as PDF (WeasyPrint,
offline; the font is DejaVu, from Debian's fonts-dejavu-core, which the project's Makefile
installs with the other system packages the evidence tests need).

Ad text is hostile input: it is escaped (autoescaping templates), shown as plain text, and what
was read from it is marked with ``<mark>`` around the exact spans extraction reported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from threadline import read
from threadline.evidence.package import figures_text

__all__ = ["mark_spans", "render_html", "render_pdf"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("threadline.evidence", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _when(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


_ENV.filters["when"] = _when


def mark_spans(text: str, spans: Sequence[tuple[int, int, str, str]]) -> Markup:
    """``text`` escaped, with each (start, end, kind, value) span wrapped in ``<mark>`` (spans
    overlapping one already marked are skipped)."""
    out: list[str] = []
    at = 0
    for start, end, kind, value in sorted(spans):
        if start < at or end <= start or end > len(text):
            continue
        out.append(str(escape(text[at:start])))
        out.append(
            f'<mark class="{escape(kind)}" title="{escape(kind)}: {escape(value)}">'
            f"{escape(text[start:end])}</mark>"
        )
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def _ad_view(d: read.AdDetail, image_files: dict[str, str], score: dict[str, Any] | None) -> dict[str, Any]:
    by_field: dict[str, list[tuple[int, int, str, str]]] = {}
    for e in d.extracted:
        if e.kind in read.MARKED_KINDS and e.field and e.start is not None and e.end is not None:
            by_field.setdefault(e.field, []).append((e.start, e.end, e.kind, e.value))
    versions = []
    for v in d.versions:
        latest = v.version == d.latest.version
        versions.append(
            {
                "v": v,
                "latest": latest,
                "title": mark_spans(v.title, by_field.get("title", []) if latest else []),
                "body": mark_spans(v.body, by_field.get("body", []) if latest else []),
                "images": [(sha, image_files.get(sha)) for _, sha in v.images],
            }
        )
    values = sorted({(e.kind, e.value) for e in d.extracted if e.kind in read.MARKED_KINDS})
    return {"d": d, "ref": f"{d.source}:{d.id}", "versions": versions, "read_values": values, "score": score}


def _coordinates(details: Sequence[read.AdDetail]) -> dict[str, tuple[float, float]]:
    """Place name -> (lat, lon), from what extraction read (the gazetteer's coordinates)."""
    out: dict[str, tuple[float, float]] = {}
    for d in details:
        for e in d.extracted:
            if e.kind == "place" and e.value not in out:
                try:
                    info = json.loads(e.detail or "{}")
                    out[e.value] = (float(info["lat"]), float(info["lon"]))
                except (ValueError, KeyError, TypeError):
                    continue
    return out


def itinerary_map(stays: Sequence[read.Stay], where: dict[str, tuple[float, float]]) -> Markup:
    """The stays as an SVG map: each place at its latitude and longitude (no base map: nothing
    is fetched), circles sized by ads, a line in the order of the stays, each numbered."""
    placed = [(s, where[s.place]) for s in stays if s.place in where]
    if not placed:
        return Markup("")
    width, height, pad, label_room = 640.0, 360.0, 30.0, 170.0  # room on the right for names
    lats = [p[0] for _, p in placed]
    lons = [p[1] for _, p in placed]
    scale_x = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * scale_x, 1.0)
    span_y = max(max(lats) - min(lats), 1.0)
    k = min((width - 2 * pad - label_room) / span_x, (height - 2 * pad) / span_y)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return pad + (lon - min(lons)) * scale_x * k, height - pad - (lat - min(lats)) * k

    points = [xy(*p) for _, p in placed]
    most = max(s.ads for s, _ in placed)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="itinerary map">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#f7f7f2" stroke="#999"/>',
        '<polyline fill="none" stroke="#c33" stroke-width="1.5" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + '"/>',
    ]
    labelled: set[str] = set()
    for (stay, _), (x, y) in zip(placed, points, strict=True):
        r = 4 + 10 * math.sqrt(stay.ads / most)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#36c" fill-opacity="0.45"/>')
        text = f"{stay.stay_no}" if stay.place in labelled else f"{stay.stay_no} {stay.place}"
        labelled.add(stay.place)
        parts.append(
            f'<text x="{x + r + 2:.1f}" y="{y + 3:.1f}" font-size="10" font-family="DejaVu Sans">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(stays: Sequence[read.Stay]) -> Markup:
    """The stays as an SVG timeline: one bar per stay from its first ad to its last."""
    if not stays:
        return Markup("")
    start = min(s.first_seen for s in stays)
    end = max(s.last_seen for s in stays)
    total = max((end - start).total_seconds(), 1.0)
    row, left, width = 16.0, 190.0, 640.0
    height = row * len(stays) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="timeline">'
    ]
    for i, s in enumerate(stays):
        y = 4 + i * row
        x0 = left + (s.first_seen - start).total_seconds() / total * (width - left - 10)
        x1 = left + (s.last_seen - start).total_seconds() / total * (width - left - 10)
        parts.append(
            f'<text x="2" y="{y + 10:.1f}" font-size="9" font-family="DejaVu Sans">'
            f"{escape(f'{s.stay_no} {s.place}'[:34])}</text>"
            f'<rect x="{x0:.1f}" y="{y + 2:.1f}" width="{max(x1 - x0, 2):.1f}" '
            f'height="{row - 5:.1f}" fill="#36c"/>'
        )
    y = 4 + len(stays) * row + 14
    parts.append(
        f'<text x="{left:.0f}" y="{y:.0f}" font-size="9" font-family="DejaVu Sans">'
        f"{escape(_when(start))}</text>"
        f'<text x="{width - 4:.0f}" y="{y:.0f}" font-size="9" font-family="DejaVu Sans" text-anchor="end">'
        f"{escape(_when(end))}</text></svg>"
    )
    return Markup("".join(parts))


def render_html(
    *,
    title: str,
    case: dict[str, Any] | None,
    groups: Sequence[Any],
    image_files: dict[str, str],
    image_rows: Sequence[dict[str, Any]],
    info: dict[str, str],
    redacted: Sequence[str],
    masked: bool,
    figures: dict[str, Any],
    figures_sha: str,
    dropped: Sequence[str],
) -> str:
    """The report of a network package (``case`` None: one group) or of a case package (the
    case's record, as ``data/case.json`` holds it, and its ads by network, one group each)."""
    shown = []
    for g in groups:
        scores = {r["ad"]: r for r in g.score_rows}
        ads = sorted(
            (_ad_view(d, image_files, scores.get(f"{d.source}:{d.id}")) for d in g.details),
            key=lambda a: (a["d"].latest.posted_at or a["d"].latest.captured_at or datetime.min, a["ref"]),
        )
        view = g.view
        shown.append(
            {
                "network": g.network,
                "view": view,
                "summary": view.summary if view is not None else None,
                "ads": ads,
                "phones": [i for i in view.identifiers if i.kind == "phone"] if view is not None else [],
                "itinerary_map": itinerary_map(view.itinerary, _coordinates(g.details)) if view else "",
                "timeline": timeline(view.itinerary) if view is not None else "",
                "net_reasons": g.net_reasons,
                "stubs": g.stubs,
                "dropped": g.dropped,
            }
        )
    return _ENV.get_template("report.html").render(
        title=title,
        case=case,
        groups=shown,
        n_ads=sum(len(g["ads"]) for g in shown),
        info=info,
        redacted=redacted,
        masked=masked,
        figures=figures_text(figures),
        figures_json=json.dumps(figures, indent=1, sort_keys=True),
        figures_sha=figures_sha,
        has_figures=bool(figures),
        images=image_rows,
        dropped=dropped,
    )


def render_pdf(html: str, target: Path, *, base: Path) -> None:
    """``html`` as PDF at ``target``; relative references resolve in ``base`` (the package) and
    nothing outside it is fetched."""
    import weasyprint

    root = base.resolve()

    def fetch(url: str, *args: Any, **kw: Any) -> Any:
        if not url.startswith("file://"):
            raise ValueError(f"the report fetches nothing from the network ({url[:60]})")
        path = Path(url[len("file://") :]).resolve()
        if root not in path.parents:
            raise ValueError("the report reads only the package's own files")
        return weasyprint.default_url_fetcher(url, *args, **kw)

    weasyprint.HTML(string=html, base_url=str(root) + "/", url_fetcher=fetch).write_pdf(str(target))
