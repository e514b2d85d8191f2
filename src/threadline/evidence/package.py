"""Build the evidence package of one network: a signed BagIt bag (RFC 8493).

    DIR/
      bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
      tagmanifest-sha256.txt.sig     detached SSHSIG signature (namespace threadline-evidence)
      report.html  [report.pdf]      the network's story and the statement of method
      data/
        ads.jsonl / .csv             every version of every ad, as captured
        extractions.jsonl / .csv     what was read from each ad's latest version, with spans
        links.jsonl / .csv           ad -> person -> network
        link_evidence.jsonl / .csv   what links the network's ads
        scores.jsonl / .csv          each ad's priority and its reasons
        network_score.jsonl / .csv   the network's score parts, each with its reason
        decisions.jsonl, labels.jsonl  analysts' acts, with who and when
        images.jsonl / .csv          each image: hash, file in the package, original paths
        images/SHA256.ext            the images by hash (blurred: SHA256.blurred.png)
        network.graphml              Gephi, Cytoscape
        i2_entities.csv, i2_links.csv  i2 Analyst's Notebook (docs/i2-import.md)
        method_figures.json          the benchmark figures the statement of method quotes

Everything is read through the read API (`threadline.read`) and the store's kept images
(`threadline.store.kept_images`); the package is made in a temporary folder beside DIR and moved
into place only once signed, so a failed export leaves no half package.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import bagit
import duckdb

from threadline import __version__, read
from threadline.evidence.graph import Edge, Graph, Node, graphml, i2_entities_csv, i2_links_csv, write_csv
from threadline.evidence.keys import NAMESPACE, EvidenceKey
from threadline.store import kept_images
from threadline.store.hashlists import HASH_LIST, MINOR, hidden_images

__all__ = ["Built", "EvidenceError", "Options", "build", "figures_text", "load_figures"]

SIGNATURE = "tagmanifest-sha256.txt.sig"
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class EvidenceError(ValueError):
    """An export that cannot be made (no such network, a folder in the way ...): one line."""


@dataclass(frozen=True)
class Options:
    """Redaction. ``since``/``until``: drop ads whose date (posted, else captured) is outside
    the window (an undated ad is dropped when a window is given). ``blur_images``: every image
    is blurred in the package (the store keeps the original)."""

    blur_images: bool = False
    since: datetime | None = None
    until: datetime | None = None
    pdf: bool = True


@dataclass(frozen=True)
class Built:
    path: Path
    network: str
    ads: int
    images: int
    files: int
    bytes: int
    fingerprint: str
    redacted: tuple[str, ...] = field(default=())


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, default=_json_default) + "\n" for r in rows)


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return _iso(value)


def _tables(folder: Path, name: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """``rows`` as ``name.jsonl`` and ``name.csv`` (cells neutralised, see `graph.csv_safe`)."""
    (folder / f"{name}.jsonl").write_text(_jsonl(rows), encoding="utf-8")
    (folder / f"{name}.csv").write_text(
        write_csv(columns, ([_cell(r.get(c)) for c in columns] for r in rows)), encoding="utf-8", newline=""
    )


def load_figures() -> tuple[dict[str, Any], str]:
    """The benchmark figures (``threadline/data/benchmark_figures.json``, written by bench/link.py
    and bench/score.py) and the file's SHA-256; ({}, "") when the file is missing."""
    env = os.environ.get("THREADLINE_BENCHMARK_FIGURES")
    try:
        raw = (
            Path(env).read_bytes()
            if env
            else resources.files("threadline").joinpath("data/benchmark_figures.json").read_bytes()
        )
    except OSError:
        return {}, ""
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def figures_text(figures: dict[str, Any]) -> list[str]:
    """The figures as sentences for the statement of method (read from the file, not typed)."""
    out = []
    linking = figures.get("linking")
    if linking:
        c = linking["corpus"]
        net, per, base = (
            linking["network_bcubed"],
            linking["person_bcubed"],
            linking.get("baseline_phone_union_find_bcubed"),
        )
        out.append(
            f"Linking, measured on {c['ads']:,} synthetic ads (seed {c['seed']}, {linking['measured_at']}): "
            f"networks B-cubed precision {net['precision']:.4f}, recall {net['recall']:.4f} "
            f"(so about {1 - net['precision']:.2%} of an ad's network-mates are wrongly joined and "
            f"{1 - net['recall']:.2%} missed); persons precision {per['precision']:.4f}, recall "
            f"{per['recall']:.4f}"
            + (
                f"; the field's usual baseline (joining ads on any shared phone) reached precision "
                f"{base['precision']:.4f} on the same ads."
                if base
                else "."
            )
        )
    scoring = figures.get("scoring")
    if scoring:
        c = scoring["corpus"]
        text, struct = scoring["with_indicator_text"], scoring["structure_only"]
        out.append(
            f"Scoring, measured on {c['ads']:,} synthetic ads (seed {c['seed']}, {scoring['measured_at']}): "
            f"average precision of ranking operations' networks above independents' "
            f"{text['network_ap']:.4f} (base rate {text['network_positive_share']:.4f}), ads "
            f"{text['ad_ap']:.4f}; with every indicator phrase deleted from the text "
            f"(structure alone) networks {struct['network_ap']:.4f}, ads {struct['ad_ap']:.4f}."
        )
    return out


def _in_window(date: datetime | None, options: Options) -> bool:
    if options.since is None and options.until is None:
        return True
    if date is None:
        return False
    if options.since is not None and date < _naive(options.since):
        return False
    return not (options.until is not None and date > _naive(options.until))


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _blur(data: bytes) -> bytes:
    from PIL import Image, ImageFilter

    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        radius = max(8, min(rgb.size) // 10)
        blurred = rgb.filter(ImageFilter.GaussianBlur(radius))
        out = io.BytesIO()
        blurred.save(out, format="PNG")
        return out.getvalue()


def _empty_target(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise EvidenceError(f"{out_dir} exists and is not an empty folder: export into a new folder")


def build(
    con: duckdb.DuckDBPyConnection,
    store_file: Path,
    network_id: str,
    out_dir: Path,
    *,
    key: EvidenceKey,
    user: str | None = None,
    options: Options | None = None,
    schema_version: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Built:
    """Make the evidence package of ``network_id`` in ``out_dir`` (new, or an empty folder),
    signed with ``key``; ``user`` is who exports (default: the OS user)."""
    options = options or Options()
    say = progress or (lambda _: None)
    _empty_target(out_dir)
    if not network_id.upper().startswith("N"):
        raise EvidenceError(f"{network_id}: a network id starts with N (case packages come with cases)")
    view = read.network(con, network_id, ads_limit=None)
    if view is None:
        raise EvidenceError(f"no network {network_id} in the store")
    user = user or _os_user()
    exported_at = datetime.now(UTC).replace(microsecond=0)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        built = _build(con, store_file, view, tmp, key, user, options, exported_at, schema_version, say)
        if out_dir.exists():
            out_dir.rmdir()  # empty: checked above
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Built(out_dir, *built[1:])  # type: ignore[arg-type]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _build(
    con: duckdb.DuckDBPyConnection,
    store_file: Path,
    view: read.NetworkView,
    bag_dir: Path,
    key: EvidenceKey,
    user: str,
    options: Options,
    exported_at: datetime,
    schema_version: int | None,
    say: Callable[[str], None],
) -> tuple[Any, ...]:
    network = view.network
    redacted: list[str] = []
    all_ads = list(view.ads.items)
    kept_rows = [a for a in all_ads if _in_window(a.date, options)]
    dropped = [a for a in all_ads if a not in kept_rows]
    if options.since or options.until:
        window = f"{_iso(options.since) or '…'} to {_iso(options.until) or '…'}"
        redacted.append(
            f"{len(dropped):,} of {len(all_ads):,} ads dropped: dated outside {window} or undated"
        )
    say(f"reading {len(kept_rows):,} ads of {network}")
    details = [d for d in (read.ad_detail(con, a.source, a.id) for a in kept_rows) if d is not None]
    refs = {f"{d.source}:{d.id}" for d in details}
    # Never in a package, whatever the options (issue 15, `threadline.store.hashlists`): an image
    # matching a hash list of known abuse material leaves no trace but a count (not even its hash,
    # from the ads, the images, the links or the graph); an image beside an ad that states an age
    # under 18 is withheld below (its hash listed, its bytes never included).
    hidden = hidden_images(con, {sha for d in details for v in d.versions for _, sha in v.images})
    matched = {sha for sha, why in hidden.items() if why == HASH_LIST}
    left_out: dict[tuple[str, str, int], int] = {}
    if matched:
        details, left_out = _without_images(details, matched)
        view = dataclasses.replace(
            view,
            evidence=tuple(e for e in view.evidence if not _names_any(e[1], matched)),
            hubs=tuple(h for h in view.hubs if not _names_any(h[1], matched)),
        )

    data = bag_dir  # bagit moves everything here into data/ when the bag is made
    # -- ads, extractions -------------------------------------------------------------------
    ad_rows: list[dict[str, Any]] = []
    extraction_rows: list[dict[str, Any]] = []
    for d in details:
        for v in d.versions:
            ad_rows.append(
                {
                    "ad": f"{d.source}:{d.id}",
                    "source": d.source,
                    "id": d.id,
                    "version": v.version,
                    "latest": v.version == d.latest.version,
                    "posted_at": v.posted_at,
                    "captured_at": v.captured_at,
                    "url": v.url,
                    "location": v.location,
                    "title": v.title,
                    "body": v.body,
                    "fields": v.fields,
                    "images": [sha for _, sha in v.images],
                    "images_left_out": left_out.get((d.source, d.id, v.version), 0),
                    "ingested_from": f"{v.file}:{v.line}",
                    "ingested_at": v.ingested_at,
                    **_seen(d, v.version),
                }
            )
        for e in d.extracted:
            if e.kind == "image":
                continue
            extraction_rows.append(
                {
                    "ad": f"{d.source}:{d.id}",
                    "version": d.latest.version,
                    "kind": e.kind,
                    "value": e.value,
                    "field": e.field,
                    "start": e.start,
                    "end": e.end,
                }
            )
    _tables(data, "ads", ad_rows, list(ad_rows[0]) if ad_rows else ["ad"])
    _tables(data, "extractions", extraction_rows, ["ad", "version", "kind", "value", "field", "start", "end"])

    # -- links, evidence, scores, acts ------------------------------------------------------
    link_rows = [
        {"ad": f"{d.source}:{d.id}", "source": d.source, "id": d.id, "network": d.network, "person": d.person}
        for d in details
    ]
    _tables(data, "links", link_rows, ["ad", "source", "id", "network", "person"])
    evidence_rows = [
        {"network": network, "kind": k, "value": v, "ads": n, "detail": det} for k, v, n, det in view.evidence
    ]
    _tables(data, "link_evidence", evidence_rows, ["network", "kind", "value", "ads", "detail"])
    from threadline.score.scorer import iter_ad_scores, reasons

    score_rows = [
        {"ad": f"{r['source']}:{r['id']}", **r}
        for r in iter_ad_scores(con, network=network)
        if r["network"] == network and f"{r['source']}:{r['id']}" in refs
    ]
    _tables(
        data, "scores", score_rows, ["ad", "score", "network", "network_score", "model", "reasons", "note"]
    )
    from threadline.extract.lexicon import default_lexicon
    from threadline.score.weights import load_weights

    parts = list(view.score.parts) if view.score else []
    weights, lexicon = load_weights(), default_lexicon()
    net_reasons = reasons(parts, weights, lexicon) if parts else []
    for r, p in zip(net_reasons, sorted(parts, key=lambda p: (-p[4], p[1])), strict=True):
        r["value"], r["detail"] = p[2], p[3]
        r["source"] = _reason_source(p[0], p[1], weights, lexicon)
    reason_columns = ["feature", "reason", "value", "detail", "contribution", "level", "source"]
    _tables(data, "network_score", net_reasons, reason_columns)
    decision_rows = [asdict(x) for x in view.decisions]
    label_rows = [asdict(x) for x in view.labels]
    (data / "decisions.jsonl").write_text(_jsonl(decision_rows), encoding="utf-8")
    (data / "labels.jsonl").write_text(_jsonl(label_rows), encoding="utf-8")

    # -- images ----------------------------------------------------------------------------
    images_dir = data / "images"
    images_dir.mkdir()
    originals: dict[str, list[str]] = {}
    for d in details:
        for v in d.versions:
            for path, sha in v.images:
                originals.setdefault(sha, [])
                if path not in originals[sha]:
                    originals[sha].append(path)
    # Never included, whatever the options: the images of an ad that states an age under 18
    # (extraction's ``minor`` flag; an image shared with other ads is withheld from them too).
    withheld = {sha for d in details if _states_a_minor(d) for v in d.versions for _, sha in v.images}
    withheld |= {sha for sha, why in hidden.items() if why == MINOR and sha in originals}
    image_rows: list[dict[str, Any]] = []
    image_files: dict[str, str] = {}  # sha -> path inside the bag (report links)
    missing = 0
    say(f"copying {len(originals):,} images")
    for sha, paths in sorted(originals.items()):
        raw = next((b for p in paths if (b := kept_images.image_bytes(store_file, sha, p)) is not None), None)
        if raw is None:
            raw = kept_images.image_bytes(store_file, sha)
        row: dict[str, Any] = {"sha256": sha, "file": None, "blurred": False, "withheld": None}
        row["original_paths"] = paths
        if sha in withheld:
            row["withheld"] = "an ad carrying it states an age under 18"
        elif raw is None:
            missing += 1
        elif options.blur_images:
            try:
                name = f"{sha}.blurred.png"
                (images_dir / name).write_bytes(_blur(raw))
                row |= {"file": f"data/images/{name}", "blurred": True}
            except Exception:  # not an image Pillow decodes: withheld, never sent unblurred
                row |= {"file": None, "withheld": "could not be blurred"}
        else:
            name = f"{sha}.{_EXT.get(kept_images.media_type(raw), 'bin')}"
            (images_dir / name).write_bytes(raw)
            row["file"] = f"data/images/{name}"
        if row["file"]:
            image_files[sha] = row["file"]
        image_rows.append(row)
    _tables(data, "images", image_rows, ["sha256", "file", "blurred", "withheld", "original_paths"])
    if options.blur_images:
        redacted.append(f"every image blurred ({len(image_files):,} files; the store keeps the originals)")
    if withheld:
        redacted.append(
            f"{len(withheld):,} images withheld: carried by an ad that states an age under 18 "
            "(never included, whatever the options)"
        )
    if matched:
        redacted.append(
            f"{len(matched):,} images left out: they match a loaded hash list of known child sexual "
            "abuse material (never included, whatever the options; neither the images nor their "
            "hashes are in this package; reported through the unit's mandatory reporting)"
        )
    if missing:
        redacted.append(
            f"{missing:,} images neither kept by the store nor at their original path: not included"
        )

    # -- the graph -------------------------------------------------------------------------
    graph = _graph(view, details)
    (data / "network.graphml").write_text(graphml(graph), encoding="utf-8")
    (data / "i2_entities.csv").write_text(i2_entities_csv(graph), encoding="utf-8", newline="")
    (data / "i2_links.csv").write_text(i2_links_csv(graph), encoding="utf-8", newline="")

    figures, figures_sha = load_figures()
    (data / "method_figures.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")

    # -- the bag ---------------------------------------------------------------------------
    info = {
        "Source-Organization": "Threadline installation",
        "External-Description": f"Evidence package of network {network} ({len(details):,} ads)",
        "External-Identifier": network,
        "Network": network,
        "Case": "none (a network package)",
        "Export-Time": _iso(exported_at),
        "Exported-By": user,
        "Store": str(store_file.resolve()),
        "Store-Schema-Version": str(schema_version) if schema_version is not None else "unknown",
        "Software": f"Threadline {__version__} (bagit-python {bagit.VERSION})",
        "Signing-Key": key.public_line,
        "Signing-Key-Fingerprint": key.fingerprint,
        "Signature-Namespace": NAMESPACE,
        "Redaction": "; ".join(redacted) or "none",
    }
    say("hashing the payload")
    bagit.make_bag(str(bag_dir), info, processes=1, checksums=["sha256"])

    from threadline.evidence.report import render_html, render_pdf

    say("writing the report")
    html = render_html(
        view=view,
        details=details,
        score_rows=score_rows,
        net_reasons=net_reasons,
        image_files=image_files,
        image_rows=image_rows,
        info=info,
        redacted=redacted,
        figures=figures,
        figures_sha=figures_sha,
        dropped=[a.ref for a in dropped],
    )
    (bag_dir / "report.html").write_text(html, encoding="utf-8")
    if options.pdf:
        say("rendering report.pdf")
        render_pdf(html, bag_dir / "report.pdf", base=bag_dir)
    bag = bagit.Bag(str(bag_dir))
    bag.save(processes=1, manifests=True)  # the tag manifest now covers the reports
    tagmanifest = (bag_dir / "tagmanifest-sha256.txt").read_bytes()
    (bag_dir / SIGNATURE).write_text(key.sign(tagmanifest), encoding="ascii")
    files = [p for p in bag_dir.rglob("*") if p.is_file()]
    return (
        bag_dir,
        network,
        len(details),
        len(image_files),
        len(files),
        sum(p.stat().st_size for p in files),
        key.fingerprint,
        tuple(redacted),
    )


def _reason_source(level: str, feature: str, weights: Any, lexicon: Any) -> str:
    """The public source a score part's weight cites: the weights file's for a feature, the
    lexicon's entries' for indicator language (of the category, at most three)."""
    inner = feature[4:] if feature.startswith("ads:") else feature
    if inner.startswith("lexicon:"):
        category = inner.split(":", 1)[1]
        sources = sorted({e.source for e in lexicon.entries if e.category == category and e.source})
        return "; ".join(sources[:3]) + (f"; and {len(sources) - 3} more" if len(sources) > 3 else "")
    for key in ((level, feature), ("ad", inner), ("network", inner)):
        found = weights.features.get(key)
        if found is not None:
            return str(found.source)
    return ""


def _seen(detail: read.AdDetail, version: int) -> dict[str, Any]:
    """When the version was on show, how often it was seen, and the ad's removal report."""
    seen = detail.seen
    span = seen.spans.get(version) if seen is not None else None
    return {
        "on_show_from": span[0] if span else None,
        "on_show_until": span[1] if span else None,
        "sightings": span[2] if span else None,
        "ad_removed_on": seen.removed_on if seen is not None else None,
    }


def _names_any(value: str, shas: set[str]) -> bool:
    """Whether a link's or hub's value (an image's SHA-256, a pair of them ...) names any of ``shas``."""
    return any(part in shas for part in value.split(" "))


def _without_images(
    details: Sequence[read.AdDetail], shas: set[str]
) -> tuple[list[read.AdDetail], dict[tuple[str, str, int], int]]:
    """``details`` with no trace of the images ``shas``, and how many each version lost."""
    lost: dict[tuple[str, str, int], int] = {}
    out = []
    for d in details:
        versions = []
        for v in d.versions:
            kept = tuple((p, sha) for p, sha in v.images if sha not in shas)
            if len(kept) != len(v.images):
                lost[(d.source, d.id, v.version)] = len(v.images) - len(kept)
            versions.append(dataclasses.replace(v, images=kept))
        out.append(
            dataclasses.replace(
                d,
                versions=tuple(versions),
                images=tuple(i for i in d.images if i.sha256 not in shas),
                extracted=tuple(e for e in d.extracted if not (e.kind == "image" and e.value in shas)),
            )
        )
    return out, lost


def _states_a_minor(detail: read.AdDetail) -> bool:
    """Whether the ad's latest version states an age under 18 (extraction's ``minor`` flag)."""
    for e in detail.extracted:
        if e.kind == "age":
            try:
                if json.loads(e.detail or "{}").get("minor"):
                    return True
            except ValueError:
                continue
    return False


def _graph(view: read.NetworkView, details: Sequence[read.AdDetail]) -> Graph:
    graph = Graph()
    net = view.network
    summary = view.summary
    graph.node(
        Node(
            net,
            "Network",
            f"Network {net}",
            {
                "ads": str(len(details)),
                "score": f"{summary.score:.4f}" if summary else "",
                "first_seen": str(_iso(summary.first_date) or "") if summary else "",
                "last_seen": str(_iso(summary.last_date) or "") if summary else "",
            },
        )
    )
    for person, n, names in view.persons:
        graph.node(Node(person, "Person", f"{person} ({', '.join(names) or 'no name'})", {"ads": str(n)}))
        graph.edge(Edge(person, net, "part of"))
    seen_ids = {(i.kind, i.value): i for i in view.identifiers}
    for d in details:
        ref = f"{d.source}:{d.id}"
        graph.node(
            Node(
                ref,
                "Ad",
                ref,
                {
                    "date": str(_iso(d.latest.posted_at or d.latest.captured_at) or ""),
                    "place": d.place or d.latest.location or "",
                    "url": d.latest.url or "",
                },
            )
        )
        if d.person:
            graph.edge(Edge(ref, d.person, "member of"))
        carried = {(e.kind, e.value) for e in d.extracted if e.kind in ("phone", "email", "handle")}
        for kind, value in sorted(carried):
            node_id = f"{kind}:{value}"
            ident = seen_ids.get((kind, value))
            graph.node(
                Node(
                    node_id,
                    kind.capitalize(),
                    value,
                    {
                        "first_seen": str(_iso(ident.first_seen) or "") if ident else "",
                        "last_seen": str(_iso(ident.last_seen) or "") if ident else "",
                        "ads": str(ident.ads) if ident else "",
                    },
                )
            )
            graph.edge(Edge(ref, node_id, "carries"))
        for img in d.images:
            node_id = f"image:{img.sha256}"
            graph.node(Node(node_id, "Image", f"sha256 {img.sha256[:16]}…"))
            graph.edge(Edge(ref, node_id, "carries"))
    return graph
