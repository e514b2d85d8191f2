"""The package's report: one self-contained HTML page (no script, no network: its only
references are the package's own image files, by relative path) and the same as PDF (WeasyPrint,
offline; the font is DejaVu, from Debian's fonts-dejavu-core, which the project's Makefile
installs with the other system packages the evidence tests need).

Ad text is hostile input: it is escaped (autoescaping templates), shown as plain text, and what
was read from it is marked with ``<mark>`` around the exact spans extraction reported.
"""

from __future__ import annotations

import json
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


def render_html(
    *,
    view: read.NetworkView,
    details: Sequence[read.AdDetail],
    score_rows: Sequence[dict[str, Any]],
    net_reasons: Sequence[dict[str, Any]],
    image_files: dict[str, str],
    image_rows: Sequence[dict[str, Any]],
    info: dict[str, str],
    redacted: Sequence[str],
    figures: dict[str, Any],
    figures_sha: str,
    dropped: Sequence[str],
) -> str:
    scores = {r["ad"]: r for r in score_rows}
    ads = sorted(
        (_ad_view(d, image_files, scores.get(f"{d.source}:{d.id}")) for d in details),
        key=lambda a: (a["d"].latest.posted_at or a["d"].latest.captured_at or datetime.min, a["ref"]),
    )
    phones = [i for i in view.identifiers if i.kind == "phone"]
    return _ENV.get_template("report.html").render(
        view=view,
        summary=view.summary,
        ads=ads,
        phones=phones,
        identifiers=view.identifiers,
        net_reasons=net_reasons,
        info=info,
        redacted=redacted,
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
