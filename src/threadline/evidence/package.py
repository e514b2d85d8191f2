"""Build the evidence package of a case or of one network: a signed BagIt bag (RFC 8493).

    DIR/
      bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
      tagmanifest-sha256.txt.sig     detached SSHSIG signature (namespace threadline-evidence)
      report.html  [report.pdf]      the case's or network's story and the statement of method
      data/
        ads.jsonl / .csv             every version of every ad, as captured
        extractions.jsonl / .csv     what was read from each ad's latest version, with spans
        links.jsonl / .csv           ad -> person -> network
        link_evidence.jsonl / .csv   what links the networks' ads
        scores.jsonl / .csv          each ad's priority and its reasons
        network_score.jsonl / .csv   each network's score parts, each with its reason
        decisions.jsonl, labels.jsonl  analysts' acts, with who and when
        case.json                    a case package's case: name, status, tags, analysts, notes
        case_members.jsonl / .csv    a case package's ads: network, how and by whom each was added
        outside_case.jsonl / .csv    with --mask-outside-case: the networks' other ads, as stubs
        images.jsonl / .csv          each image: hash, file in the package, original paths
        images/SHA256.ext            the images by hash (blurred: SHA256.blurred.png)
        network.graphml              Gephi, Cytoscape (a case package: its networks in one graph)
        i2_entities.csv, i2_links.csv  i2 Analyst's Notebook (docs/i2-import.md)
        method_figures.json          the benchmark figures the statement of method quotes

A case package holds the case's ads (each ad is a member: `threadline.link.cases`), grouped by
the network each is in now, with those networks' links, evidence and scores. With
``--mask-outside-case`` what only ads outside the case carry is masked (`evidence.mask`).

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
from threadline.evidence.mask import KINDS as MASK_KINDS
from threadline.evidence.mask import Masker
from threadline.store import kept_images
from threadline.store.hashlists import HASH_LIST, MINOR, hidden_images

__all__ = [
    "Built",
    "EvidenceError",
    "Group",
    "Options",
    "Unblurrable",
    "build",
    "figures_text",
    "load_figures",
]

SIGNATURE = "tagmanifest-sha256.txt.sig"
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class EvidenceError(ValueError):
    """An export that cannot be made (no such network, a folder in the way ...): one line."""


@dataclass(frozen=True)
class Options:
    """Redaction. ``since``/``until``: drop ads whose date (posted, else captured) is outside
    the window (an undated ad is dropped when a window is given). ``blur_images``: every image
    is blurred in the package (the store keeps the original). ``mask_outside_case``: every
    phone, e-mail, handle and name only ads outside the package carry is masked, and those ads
    are shown only as masked stubs (`threadline.evidence.mask`); a network package needs
    ``case`` (C…) for it, and holds then only the network's ads in that case."""

    blur_images: bool = False
    since: datetime | None = None
    until: datetime | None = None
    pdf: bool = True
    mask_outside_case: bool = False
    case: str | None = None


@dataclass(frozen=True)
class Built:
    path: Path
    subject: str  # the case (C…) or network (N…) the package is of
    ads: int
    images: int
    files: int
    bytes: int
    fingerprint: str
    redacted: tuple[str, ...] = field(default=())
    masked: dict[str, int] = field(default_factory=dict)  # by kind, with ``ad`` (stubs)

    @property
    def network(self) -> str:  # the name before case packages
        return self.subject


@dataclass
class Group:
    """The package's ads in one network (``network`` None: ads not linked), the network as the
    store knows it, and the network's ads outside the package (stubs, when masking)."""

    network: str | None
    view: read.NetworkView | None
    details: list[read.AdDetail]
    outside: list[read.AdRow] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # dated outside the window
    stubs: list[str] = field(default_factory=list)  # the outside ads' tokens (masking)
    score_rows: list[dict[str, Any]] = field(default_factory=list)
    net_reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CaseInfo:
    ref: str
    view: read.CaseView
    ads: dict[str, read.CaseAd]  # SOURCE:ID -> membership


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


class Unblurrable(ValueError):
    """An image the package will not decode to blur: the reason, for the report."""


def _blur(data: bytes) -> bytes:
    """A blurred PNG of the image. An image of more than ``MAX_PIXELS`` pixels (as the
    workspace's `serve._images.blurred` refuses it) is never decoded: a decompression bomb of a
    few kilobytes would take gigabytes of memory. `Unblurrable` says why."""
    from PIL import Image, ImageFilter, UnidentifiedImageError

    from threadline.extract.images import MAX_PIXELS

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise Unblurrable(f"more than {MAX_PIXELS:,} pixels (a decompression bomb): not decoded") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise Unblurrable(f"not an image Pillow decodes ({type(exc).__name__})") from None
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise Unblurrable(
                f"{image.width}x{image.height} pixels, more than {MAX_PIXELS:,} "
                "(a decompression bomb?): not decoded"
            )
        try:
            rgb = image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise Unblurrable(f"not an image Pillow decodes ({type(exc).__name__})") from None
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
    subject: str,
    out_dir: Path,
    *,
    key: EvidenceKey,
    user: str | None = None,
    options: Options | None = None,
    schema_version: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Built:
    """Make the evidence package of ``subject`` (a case C… or a network N…) in ``out_dir`` (new,
    or an empty folder), signed with ``key``; ``user`` is who exports (default: the OS user)."""
    options = options or Options()
    say = progress or (lambda _: None)
    _empty_target(out_dir)
    case, groups, title = _scope(con, subject.strip(), options)
    user = user or _os_user()
    exported_at = datetime.now(UTC).replace(microsecond=0)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        built = _build(
            con, store_file, title, case, groups, tmp, key, user, options, exported_at, schema_version, say
        )
        if out_dir.exists():
            out_dir.rmdir()  # empty: checked above
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dataclasses.replace(built, path=out_dir)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _case(con: duckdb.DuckDBPyConnection, ref: str) -> CaseInfo:
    from threadline.refs import BadRef, parse_ref

    try:
        case_id = parse_ref(ref, kinds=("case",))[1]
    except BadRef as exc:
        raise EvidenceError(str(exc)) from None
    view = read.case(con, case_id)
    if view is None:
        raise EvidenceError(f"no case C{case_id} in the store")
    return CaseInfo(f"C{case_id}", view, {a.ref: a for a in read.case_ads(con, case_id)})


def _scope(
    con: duckdb.DuckDBPyConnection, subject: str, options: Options
) -> tuple[CaseInfo | None, list[Group], str]:
    """The case (if any), the package's ads by network, and the package's title."""
    head = subject[:1].upper()
    if head == "C":
        return _case_scope(con, subject, options)
    if head != "N":
        raise EvidenceError(f"{subject}: not a case (C…) or network (N…) id")
    return _network_scope(con, subject, options)


def _case_scope(
    con: duckdb.DuckDBPyConnection, subject: str, options: Options
) -> tuple[CaseInfo | None, list[Group], str]:
    """A case's ads, grouped by the network each is in now (followed networks first)."""
    case = _case(con, subject)
    if options.case and _case(con, options.case).ref != case.ref:
        raise EvidenceError(f"{subject} is a case: --case names another ({options.case})")
    by_network: dict[str | None, list[read.CaseAd]] = {}
    for a in case.ads.values():
        by_network.setdefault(a.network, []).append(a)
    order = [m.network for m in case.view.members if m.network in by_network]
    order += [n for n in by_network if n not in order]
    groups = []
    for network in order:
        members = by_network[network]
        view = read.network(con, network, ads_limit=None) if network else None
        kept = [a for a in members if _in_window(a.date, options)]
        outside: list[read.AdRow] = []
        if view is not None and options.mask_outside_case:
            outside = [a for a in view.ads.items if a.ref not in case.ads]
        groups.append(
            Group(
                network,
                view,
                _details(con, [(a.source, a.id) for a in kept]),
                outside,
                sorted(a.ref for a in members if a not in kept),
            )
        )
    if not case.ads:
        raise EvidenceError(f"case {case.ref} holds no ad: nothing to package")
    return case, groups, f"case {case.ref}: {case.view.case.name}"


def _network_scope(
    con: duckdb.DuckDBPyConnection, subject: str, options: Options
) -> tuple[CaseInfo | None, list[Group], str]:
    """A network's ads (with a case to mask outside of: only those in the case)."""
    case: CaseInfo | None = None
    if options.case:
        if not options.mask_outside_case:
            raise EvidenceError("--case goes with --mask-outside-case (for a case's package give its C… id)")
        case = _case(con, options.case)
    elif options.mask_outside_case:
        raise EvidenceError(
            "--mask-outside-case needs a case: give --case C… (the case whose ads are inside), "
            "or export the case itself"
        )
    view = read.network(con, subject, ads_limit=None)
    if view is None:
        raise EvidenceError(f"no network {subject} in the store")
    every = list(view.ads.items)
    chosen = every if case is None else [a for a in every if a.ref in case.ads]
    if not chosen:
        raise EvidenceError(f"network {view.network} has no ad in case {case.ref if case else ''}")
    kept = [a for a in chosen if _in_window(a.date, options)]
    dropped = [a.ref for a in chosen if a not in kept]
    outside = [a for a in every if a not in chosen] if options.mask_outside_case else []
    group = Group(view.network, view, _details(con, [(a.source, a.id) for a in kept]), outside, dropped)
    return case, [group], f"network {view.network}"


def _details(con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, str]]) -> list[read.AdDetail]:
    return [d for d in (read.ad_detail(con, s, i) for s, i in keys) if d is not None]


def _masker(con: duckdb.DuckDBPyConnection, groups: Sequence[Group], *, also_inside: set[str]) -> Masker:
    """Inside: every phone, e-mail, handle and name read from any version of the package's ads.
    Around them: those of every ad of the package's networks, and what the networks' views name
    (identifiers, hubs, persons' names, decisions' hub values)."""
    kinds = list(MASK_KINDS)
    keys = [[d.source, d.id] for g in groups for d in g.details]
    inside = con.execute(
        """
        SELECT DISTINCT e.kind, e.value FROM extractions e
        JOIN (SELECT k[1] AS source, k[2] AS id FROM (SELECT unnest(CAST(? AS VARCHAR[][])) AS k)) p
          ON p.source = e.source AND p.id = e.ad_id
        WHERE e.kind IN (SELECT unnest(CAST(? AS VARCHAR[])))
        """,
        [keys, kinds],
    ).fetchall()
    networks = sorted({g.network for g in groups if g.network})
    around = con.execute(
        """
        SELECT DISTINCT e.kind, e.value FROM extractions e
        JOIN ad_links l ON l.source = e.source AND l.id = e.ad_id
        WHERE l.network IN (SELECT unnest(CAST(? AS VARCHAR[])))
          AND e.kind IN (SELECT unnest(CAST(? AS VARCHAR[])))
        """,
        [networks, kinds],
    ).fetchall()
    candidates: set[tuple[str, str]] = {(str(k), str(v)) for k, v in around}
    outside_refs: set[str] = set()
    for g in groups:
        outside_refs |= {a.ref for a in g.outside}
        if g.view is None:
            continue
        candidates |= {(i.kind, i.value) for i in g.view.identifiers}
        candidates |= {(k, v) for k, v, *_ in g.view.hubs}
        candidates |= {("name", n) for _, _, names in g.view.persons for n in names}
        for dec in g.view.decisions:
            if dec.hub_kind and dec.hub_value:
                candidates.add((dec.hub_kind, dec.hub_value))
            outside_refs |= set(dec.side_a) | set(dec.side_b)
        outside_refs |= {label.ad for label in g.view.labels}
    return Masker(
        {(str(k), str(v)) for k, v in inside},
        candidates,
        {f"{d.source}:{d.id}" for g in groups for d in g.details} | also_inside,
        outside_refs,
    )


def _masked_view(view: read.NetworkView, masker: Masker) -> read.NetworkView:
    """The network as the package shows it: every outside value and ad by its token."""
    return dataclasses.replace(
        view,
        persons=tuple((p, n, tuple(masker.text(x) for x in names)) for p, n, names in view.persons),
        identifiers=tuple(dataclasses.replace(i, value=masker.text(i.value)) for i in view.identifiers),
        evidence=tuple(
            (k, masker.text(v), n, masker.text(det) if det else det) for k, v, n, det in view.evidence
        ),
        hubs=tuple((k, masker.text(v), n, co, by) for k, v, n, co, by in view.hubs),
        decisions=tuple(masker.scrub(x) for x in view.decisions),
        labels=tuple(masker.scrub(x) for x in view.labels),
        ads=dataclasses.replace(view.ads, items=()),  # the package's ads are its details
    )


def _build(
    con: duckdb.DuckDBPyConnection,
    store_file: Path,
    title: str,
    case: CaseInfo | None,
    groups: list[Group],
    bag_dir: Path,
    key: EvidenceKey,
    user: str,
    options: Options,
    exported_at: datetime,
    schema_version: int | None,
    say: Callable[[str], None],
) -> Built:
    redacted: list[str] = []
    details = [d for g in groups for d in g.details]
    dropped = [r for g in groups for r in g.dropped]
    if options.since or options.until:
        window = f"{_iso(options.since) or '…'} to {_iso(options.until) or '…'}"
        total = len(details) + len(dropped)
        redacted.append(f"{len(dropped):,} of {total:,} ads dropped: dated outside {window} or undated")
    say(f"reading {len(details):,} ads of {title}")
    refs = {f"{d.source}:{d.id}" for d in details}
    # Never in a package, whatever the options (issue 15, `threadline.store.hashlists`): an image
    # matching a hash list of known abuse material leaves no trace but a count (not even its hash,
    # from the ads, the images, the links or the graph); an image beside an ad that states an age
    # under 18 is withheld below (its hash listed, its bytes never included).
    hidden = hidden_images(con, {sha for d in details for v in d.versions for _, sha in v.images})
    matched = {sha for sha, why in hidden.items() if why == HASH_LIST}
    left_out: dict[tuple[str, str, int], int] = {}
    if matched:
        for g in groups:
            g.details, lost = _without_images(g.details, matched)
            left_out.update(lost)
            if g.view is not None:
                g.view = dataclasses.replace(
                    g.view,
                    evidence=tuple(e for e in g.view.evidence if not _names_any(e[1], matched)),
                    hubs=tuple(h for h in g.view.hubs if not _names_any(h[1], matched)),
                )
        details = [d for g in groups for d in g.details]
    masker: Masker | None = None
    if options.mask_outside_case:
        assert case is not None  # _scope refuses masking without a case
        masker = _masker(con, groups, also_inside=set(dropped))
        redacted.append(masker.summary(f"case {case.ref}"))
    scrub: Callable[[Any], Any] = masker.scrub if masker else (lambda x: x)
    for g in groups:
        if g.view is not None and masker is not None:
            g.view = _masked_view(g.view, masker)
            g.stubs = [masker.ref(a.ref) for a in g.outside]
    networks = [g.network for g in groups if g.network]
    subject = case.ref if case is not None and title.startswith("case") else networks[0]
    case_package = case is not None and subject == case.ref

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
    if masker is not None:
        stub_rows = [
            {"ad": masker.ref(a.ref), "network": g.network, "person": a.person}
            for g in groups
            for a in g.outside
        ]
        _tables(data, "outside_case", stub_rows, ["ad", "network", "person"])
    evidence_rows = [
        {"network": g.network, "kind": k, "value": v, "ads": n, "detail": det}
        for g in groups
        if g.view is not None
        for k, v, n, det in g.view.evidence
    ]
    _tables(data, "link_evidence", evidence_rows, ["network", "kind", "value", "ads", "detail"])
    from threadline.extract.lexicon import default_lexicon
    from threadline.score.scorer import iter_ad_scores, reasons
    from threadline.score.weights import load_weights

    weights, lexicon = load_weights(), default_lexicon()
    for g in groups:
        if g.view is None or g.network is None:
            continue
        g.score_rows = [
            scrub({"ad": f"{r['source']}:{r['id']}", **r})
            for r in iter_ad_scores(con, network=g.network)
            if r["network"] == g.network and f"{r['source']}:{r['id']}" in refs
        ]
        parts = list(g.view.score.parts) if g.view.score else []
        net_reasons = reasons(parts, weights, lexicon) if parts else []
        for r, p in zip(net_reasons, sorted(parts, key=lambda p: (-p[4], p[1])), strict=True):
            r["value"], r["detail"] = p[2], p[3]
            r["source"] = _reason_source(p[0], p[1], weights, lexicon)
            r["network"] = g.network
        g.net_reasons = [scrub(r) for r in net_reasons]
    score_rows = [r for g in groups for r in g.score_rows]
    _tables(
        data, "scores", score_rows, ["ad", "score", "network", "network_score", "model", "reasons", "note"]
    )
    reason_columns = ["feature", "reason", "value", "detail", "contribution", "level", "source", "network"]
    _tables(data, "network_score", [r for g in groups for r in g.net_reasons], reason_columns)
    decisions: dict[int, Any] = {}
    labels: dict[int, Any] = {}
    for g in groups:
        if g.view is not None:
            decisions.update((x.decision_id, x) for x in g.view.decisions)
            labels.update((x.label_id, x) for x in g.view.labels)
    decision_rows = [{"ref": x.ref, **asdict(x)} for _, x in sorted(decisions.items())]
    label_rows = [{"ref": x.ref, **asdict(x)} for _, x in sorted(labels.items())]
    (data / "decisions.jsonl").write_text(_jsonl(decision_rows), encoding="utf-8")
    (data / "labels.jsonl").write_text(_jsonl(label_rows), encoding="utf-8")

    # -- the case ----------------------------------------------------------------------------
    case_record: dict[str, Any] | None = None
    if case is not None and case_package:
        c = case.view.case
        case_record = {
            "case": case.ref,
            "name": c.name,
            "status": c.status,
            "tags": list(c.tags),
            "created_by": c.created_by,
            "created_at": c.created_at,
            "analysts": list(c.analysts),
            "ads": c.ads,
            "networks": [
                {
                    "network": m.network,
                    "followed": m.followed,
                    "ads_in_case": m.ads,
                    "ads_in_network": m.network_ads,
                }
                for m in case.view.members
            ],
            "notes": [
                {"note": n.note_id, "author": n.author, "written_at": n.at, "body": scrub(n.body)}
                for n in case.view.notes
            ],
            "notices": [
                {"at": n.at, "network": n.network, "ads": n.ads, "text": scrub(n.text)}
                for n in case.view.notices
            ],
        }
        (data / "case.json").write_text(
            json.dumps(case_record, ensure_ascii=False, indent=1, default=_json_default) + "\n",
            encoding="utf-8",
        )
        member_rows = [
            {
                "ad": a.ref,
                "source": a.source,
                "id": a.id,
                "network": a.network,
                "via": a.via,
                "added_by": a.added_by,
                "added_at": a.added_at,
                "in_package": a.ref in refs,
            }
            for a in sorted(case.ads.values(), key=lambda a: (a.network or "", a.source, a.id))
        ]
        _tables(
            data,
            "case_members",
            member_rows,
            ["ad", "source", "id", "network", "via", "added_by", "added_at", "in_package"],
        )

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
    unblurred: dict[str, int] = {}
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
            except Unblurrable as exc:  # withheld, never sent unblurred
                row |= {"file": None, "withheld": f"could not be blurred: {exc}"}
                unblurred[str(exc)] = unblurred.get(str(exc), 0) + 1
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
    for reason, n in sorted(unblurred.items()):
        redacted.append(f"{n:,} images withheld: could not be blurred ({reason})")
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
    graph = _graph(groups, case, masker)
    (data / "network.graphml").write_text(graphml(graph), encoding="utf-8")
    (data / "i2_entities.csv").write_text(i2_entities_csv(graph), encoding="utf-8", newline="")
    (data / "i2_links.csv").write_text(i2_links_csv(graph), encoding="utf-8", newline="")

    figures, figures_sha = load_figures()
    (data / "method_figures.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")

    # -- the bag ---------------------------------------------------------------------------
    if case is None:
        case_line = "none (a network package)"
    elif subject == case.ref:
        case_line = f"{case.ref} ({case.view.case.name}; {case.view.case.status})"
    else:
        case_line = f"{case.ref} ({case.view.case.name}): only the network's ads in it"
    info = {
        "Source-Organization": "Threadline installation",
        "External-Description": f"Evidence package of {title} ({len(details):,} ads)",
        "External-Identifier": subject,
        "Network": ", ".join(networks) or "none (no ad linked yet)",
        "Case": case_line,
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
    if case is not None and case_package:
        info["Case-Name"] = case.view.case.name
        info["Case-Status"] = case.view.case.status
    say("hashing the payload")
    bagit.make_bag(str(bag_dir), info, processes=1, checksums=["sha256"])

    from threadline.evidence.report import render_html, render_pdf

    say("writing the report")
    html = render_html(
        title=title,
        case=case_record,
        groups=groups,
        image_files=image_files,
        image_rows=image_rows,
        info=info,
        redacted=redacted,
        masked=masker is not None,
        figures=figures,
        figures_sha=figures_sha,
        dropped=dropped,
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
    masked = {**masker.counts, "ad": len(masker.refs)} if masker is not None else {}
    return Built(
        bag_dir,
        subject,
        len(details),
        len(image_files),
        len(files),
        sum(p.stat().st_size for p in files),
        key.fingerprint,
        tuple(redacted),
        masked,
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


def _graph(groups: Sequence[Group], case: CaseInfo | None, masker: Masker | None) -> Graph:
    """The package as one graph: its networks, their persons, the package's ads with the
    identifiers and images they carry; a case package's case, its ads tied to it; with masking,
    the networks' ads outside the case as stubs tied to their persons."""
    graph = Graph()
    text = masker.text if masker is not None else (lambda s: s)
    if case is not None:
        c = case.view.case
        graph.node(
            Node(
                case.ref,
                "Case",
                f"Case {case.ref}: {c.name}",
                {"status": c.status, "tags": ", ".join(c.tags), "analysts": ", ".join(c.analysts)},
            )
        )
    for g in groups:
        view = g.view
        net = g.network
        if view is not None and net is not None:
            summary = view.summary
            graph.node(
                Node(
                    net,
                    "Network",
                    f"Network {net}",
                    {
                        "ads": str(len(g.details)),
                        "score": f"{summary.score:.4f}" if summary else "",
                        "first_seen": str(_iso(summary.first_date) or "") if summary else "",
                        "last_seen": str(_iso(summary.last_date) or "") if summary else "",
                    },
                )
            )
            if case is not None:
                graph.edge(Edge(net, case.ref, "in case"))
            for person, n, names in view.persons:
                label = f"{person} ({', '.join(text(x) for x in names) or 'no name'})"
                graph.node(Node(person, "Person", label, {"ads": str(n)}))
                graph.edge(Edge(person, net, "part of"))
            for a in g.outside:
                stub = masker.ref(a.ref) if masker is not None else a.ref
                graph.node(Node(stub, "Ad", stub, {"outside_case": "yes"}))
                if a.person:
                    graph.edge(Edge(stub, a.person, "member of"))
        seen_ids = {(i.kind, i.value): i for i in view.identifiers} if view is not None else {}
        for d in g.details:
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
            if case is not None:
                graph.edge(Edge(ref, case.ref, "in case"))
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
