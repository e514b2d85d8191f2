"""Watchlist entries: what an analyst asks to be told about, read and stored as joinable values.

Four kinds (`KINDS`), each given as a JSON object (``spec``):

* ``identifiers``: ``{"values": ["(713) 555-0143", "mia@example.com", "@mia_xo"]}``: phones in
  any format (read as search reads them: E.164), e-mails, handles (``platform:name``, ``@name``
  or ``name``: its name on any platform);
* ``search``: ``{"words", "place", "name", "age_min", "age_max", "date_from", "date_to"}``, all
  that are given must match; words, a place or a name is needed (an age range or a date window
  alone would match most ads);
* ``photo``: ``{"photo": base64}`` (an image: kept as its PDQ and pHash, never the image);
* ``missing``: ``{"names": [name, nickname, ...], "age_min", "age_max", "place", "date_from",
  "date_to", "photo"}``: the photo matches alone, a name only with the age range, the place or
  the time (`threadline.watch._match.rule`).

An entry has an owner, an optional case (an open case, ``C…``: checked when the entry is made,
kept as its id), a note and an expiry; removing one keeps it on record (``removed_at``). A new
entry is matched once against every stored ad (`add_entry`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb

from threadline.store._tx import transaction
from threadline.store.schema import utc_now
from threadline.watch._match import match_archive

__all__ = [
    "KINDS",
    "MAX_PHOTO_BYTES",
    "Entry",
    "add_entry",
    "case_ref",
    "entries",
    "entry",
    "parse_ref",
    "photo_hashes",
    "remove_entry",
]

KINDS = ("identifiers", "search", "photo", "missing")
MAX_PHOTO_BYTES = 8 * 1024 * 1024
_MAX_VALUES = 50
_MAX_TEXT = 200
_REF = re.compile(r"[Ww]?(\d{1,18})")


@dataclass(frozen=True)
class Entry:
    entry: int
    kind: str
    owner: str
    case_id: str | None
    note: str | None
    spec: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None
    removed_at: datetime | None
    removed_by: str | None
    alerts: int = 0
    parts: tuple[str, ...] = field(default=())  # what it watches for, as shown

    @property
    def ref(self) -> str:
        return f"W{self.entry}"

    @property
    def active(self) -> bool:
        return self.removed_at is None and (self.expires_at is None or self.expires_at > utc_now())

    @property
    def case_ref(self) -> str | None:
        """The entry's case as ``C…`` (None: no case, or text kept from before cases existed)."""
        return case_ref(self.case_id)


def case_ref(case_id: str | None) -> str | None:
    """``case_id`` as a case's id ``C…``, or None when it is none (or text from before cases)."""
    from threadline.refs import BadRef, parse_ref

    if not case_id:
        return None
    try:
        return f"C{parse_ref(case_id, kinds=('case',))[1]}"
    except BadRef:
        return None


def _checked_case(con: duckdb.DuckDBPyConnection, given: str | None) -> str | None:
    """The case an entry is given, as ``C…``: it must exist and be open. ValueError otherwise."""
    from threadline.refs import BadRef, parse_ref

    given = (given or "").strip()
    if not given:
        return None
    try:
        number = parse_ref(given[:_MAX_TEXT], kinds=("case",))[1]
    except BadRef as exc:
        raise ValueError(f"case: {exc}") from None
    found = con.execute("SELECT status FROM cases WHERE case_id = ?", [number]).fetchall()
    if not found:
        raise ValueError(f"case: there is no case C{number}")
    if found[0][0] != "open":
        raise ValueError(f"case: C{number} is closed; choose an open case")
    return f"C{number}"


def parse_ref(ref: str) -> int:
    """``W12`` (or ``12``) as 12; ValueError otherwise."""
    m = _REF.fullmatch(ref.strip())
    if not m:
        raise ValueError(f"{ref!r}: expected a watchlist entry id such as W12")
    return int(m.group(1))


def photo_hashes(data: bytes) -> dict[str, Any]:
    """The PDQ and pHash of an image's bytes, as ingest hashes an ad's images; ValueError when it
    cannot be read as an image or has too little detail for PDQ to mean anything."""
    from threadline.extract.images import PDQ_MIN_QUALITY, hash_image

    if not data:
        raise ValueError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise ValueError(f"the photo is over {MAX_PHOTO_BYTES // 2**20} MB")
    fd, name = tempfile.mkstemp(prefix="threadline-watch-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        found = hash_image(name)
    finally:
        os.unlink(name)
    if found.get("error") or not found.get("pdq"):
        raise ValueError(f"the photo could not be read as an image ({found.get('error', 'no hash')})")
    if int(str(found.get("pdq_quality", 0))) < PDQ_MIN_QUALITY:
        raise ValueError("the photo has too little detail to be matched (PDQ quality too low)")
    return {
        "sha256": found["sha256"],
        "pdq": found["pdq"],
        "phash": found["phash"],
        "pdq_quality": found["pdq_quality"],
    }


def _text(spec: dict[str, Any], key: str) -> str | None:
    value = spec.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected text")
    value = value.strip()
    if len(value) > _MAX_TEXT:
        raise ValueError(f"{key}: at most {_MAX_TEXT} characters")
    return value or None


def _age(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None or value == "":
        return None
    try:
        age = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a whole number of years") from None
    if not 10 <= age <= 99:
        raise ValueError(f"{key}: {age} is not an age an ad states (10 to 99)")
    return age


def _day(spec: dict[str, Any], key: str, end: bool) -> datetime | None:
    value = _text(spec, key)
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            at = datetime.combine(day, time.min)
            return at + timedelta(days=1, microseconds=-1) if end else at
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None
    if parsed.tzinfo is not None:
        from threadline.service._common import naive_utc

        return naive_utc(parsed)
    return parsed


def _identifier(typed: str, region: str) -> tuple[str, str]:
    """The (kind, value) a typed identifier is matched as: a phone in E.164, an e-mail, or a
    handle's name on any platform."""
    from threadline.read.search import interpretations

    found = interpretations(typed, region)
    for kind in ("phone", "email"):
        for k, v in found:
            if k == kind:
                return k, v
    name = typed.strip().lower().lstrip("@")
    if ":" in name:
        name = name.split(":", 1)[1].lstrip("@")
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"{typed!r} is not a phone, an e-mail or a handle")
    return "handle-name", name


def _name_values(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str, str]]:
    """A name matches a name the extraction found, or, when it is one word, that word anywhere in
    the ad's text: a nickname the name lexicon does not know ("Roz") is still found."""
    out = [("name", "name", name.lower())]
    terms = _words(con, name)
    if len(terms) == 1:
        out.append(("name", "word", terms[0]))
    return out


def _place(typed: str) -> str:
    return typed.split(",")[0].strip().lower()


def _words(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    from threadline.read.search import query_terms

    return query_terms(con, text)


@dataclass
class _Built:
    values: list[tuple[str, str, str]]  # (part, kind, value)
    photo: dict[str, Any] | None
    age: tuple[int, int] | None
    window: tuple[datetime | None, datetime | None]
    needs: list[str]
    spec: dict[str, Any]


def _photo(spec: dict[str, Any]) -> dict[str, Any] | None:
    given = spec.get("photo")
    if given is None or given == "":
        return None
    if isinstance(given, dict) and {"pdq", "phash"} <= set(given):  # hashes given (a copy of an entry)
        return {k: given[k] for k in ("sha256", "pdq", "phash", "pdq_quality") if k in given}
    if not isinstance(given, str):
        raise ValueError("photo: expected the image as base64")
    try:
        data = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("photo: not base64") from None
    return photo_hashes(data)


def _build(con: duckdb.DuckDBPyConnection, kind: str, spec: dict[str, Any], region: str) -> _Built:
    values: list[tuple[str, str, str]] = []
    kept: dict[str, Any] = {}
    photo = None
    age = None
    window: tuple[datetime | None, datetime | None] = (None, None)
    needs: list[str] = []
    if kind == "identifiers":
        typed = spec.get("values")
        if isinstance(typed, str):
            typed = [v for v in re.split(r"[,\n]", typed)]
        if not isinstance(typed, list) or not all(isinstance(v, str) for v in typed):
            raise ValueError("values: expected a list of phones, e-mails or handles")
        typed = [v.strip() for v in typed if v.strip()]
        if not typed:
            raise ValueError("values: give at least one phone, e-mail or handle")
        if len(typed) > _MAX_VALUES:
            raise ValueError(f"values: at most {_MAX_VALUES}")
        for value in typed:
            k, v = _identifier(value[:_MAX_TEXT], region)
            values.append(("identifier", k, v))
        kept["values"] = typed
    elif kind == "photo":
        photo = _photo(spec)
        if photo is None:
            raise ValueError("photo: give an image")
    elif kind in ("search", "missing"):
        lo, hi = _age(spec, "age_min"), _age(spec, "age_max")
        if lo is not None or hi is not None:
            age = (lo if lo is not None else hi or 0, hi if hi is not None else lo or 0)
            if age[0] > age[1]:
                raise ValueError("age_min is over age_max")
            kept["age_min"], kept["age_max"] = age
            needs.append("age")
        window = (_day(spec, "date_from", end=False), _day(spec, "date_to", end=True))
        for key in ("date_from", "date_to"):
            if spec.get(key):
                kept[key] = _text(spec, key)
        if window != (None, None):
            needs.append("date")
        place = _text(spec, "place")
        if place:
            values.append(("place", "place", _place(place)))
            kept["place"] = place
            needs.append("place")
        if kind == "search":
            name = _text(spec, "name")
            if name:
                values += _name_values(con, name)
                kept["name"] = name
                needs.append("name")
            words = _text(spec, "words")
            if words:
                terms = _words(con, words)
                values += [(f"word:{t}", "word", t) for t in terms]
                needs += [f"word:{t}" for t in terms]
                kept["words"] = words
            if not any(p in needs for p in ("place", "name")) and not words:
                raise ValueError("a saved search needs words, a place or a name")
        else:
            names = spec.get("names")
            if isinstance(names, str):
                names = [n for n in re.split(r"[,\n]", names)]
            names = [n.strip() for n in names or [] if isinstance(n, str) and n.strip()]
            for name in names[:_MAX_VALUES]:
                values += _name_values(con, name[:_MAX_TEXT])
            kept["names"] = names
            photo = _photo(spec)
            if not names and photo is None:
                raise ValueError("a missing person needs a name, a nickname or a photo")
    else:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}")
    if photo is not None:
        kept["photo"] = photo
    return _Built(list(dict.fromkeys(values)), photo, age, window, needs, kept)


def _chunks(pdq: str, phash: str) -> list[tuple[str, int, str]]:
    return [("pdq", i, pdq[2 * i : 2 * i + 2]) for i in range(32)] + [
        ("phash", i, phash[2 * i : 2 * i + 2]) for i in range(8)
    ]


def add_entry(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    spec: dict[str, Any],
    *,
    owner: str,
    case_id: str | None = None,
    note: str | None = None,
    expires_at: datetime | None = None,
    region: str = "US",
) -> tuple[Entry, list[int]]:
    """Store a watchlist entry and match it once against every stored ad, in one transaction;
    returns it and the alerts raised. ValueError (with what to fix) for a wrong ``spec``, or a
    ``case_id`` that is not an open case's id (C…)."""
    if not isinstance(spec, dict):
        raise ValueError("spec: expected an object")
    built = _build(con, kind, spec, region)
    now = utc_now()
    if expires_at is not None and expires_at <= now:
        raise ValueError("the expiry is in the past")
    note = (note or "").strip()[:2000] or None
    with transaction(con):
        case_id = _checked_case(con, case_id)  # in the transaction: a case closed meanwhile is refused
        [(number,)] = con.execute(
            """
            INSERT INTO watch_entries (kind, owner, case_id, note, spec, age_min, age_max, date_from,
                                       date_to, needs, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING entry
            """,
            [
                kind,
                owner,
                case_id,
                note,
                json.dumps(built.spec, ensure_ascii=False),
                built.age[0] if built.age else None,
                built.age[1] if built.age else None,
                built.window[0],
                built.window[1],
                json.dumps(built.needs),
                now,
                expires_at,
            ],
        ).fetchall()
        if built.values:
            con.executemany(
                "INSERT INTO watch_values (entry, part, kind, value) VALUES (?, ?, ?, ?)",
                [(number, part, k, v) for part, k, v in built.values],
            )
        if built.photo is not None:
            con.executemany(
                "INSERT INTO watch_image_chunks (entry, pdq, phash, hash, chunk, val)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (number, built.photo["pdq"], built.photo["phash"], h, c, v)
                    for h, c, v in _chunks(built.photo["pdq"], built.photo["phash"])
                ],
            )
        raised = match_archive(con, int(number), now)
    made = entry(con, int(number))
    assert made is not None
    return made, raised


def remove_entry(con: duckdb.DuckDBPyConnection, number: int, *, by: str, may_others: bool) -> Entry:
    """Stop an entry (kept on record, its alerts too). LookupError for none, PermissionError for
    another's entry unless ``may_others``, ValueError when removed already."""
    found = entry(con, number)
    if found is None:
        raise LookupError(f"no watchlist entry W{number}")
    if found.owner != by and not may_others:
        raise PermissionError(f"W{number} is {found.owner}'s: only a supervisor removes others' entries")
    if found.removed_at is not None:
        raise ValueError(f"W{number} is removed already")
    with transaction(con):
        con.execute(
            "UPDATE watch_entries SET removed_at = ?, removed_by = ? WHERE entry = ?", [utc_now(), by, number]
        )
    removed = entry(con, number)
    assert removed is not None
    return removed


_SELECT = """
    SELECT e.entry, e.kind, e.owner, e.case_id, e.note, e.spec, e.created_at, e.expires_at,
           e.removed_at, e.removed_by, (SELECT count(*) FROM alerts a WHERE a.entry = e.entry)
    FROM watch_entries e
"""


def _entry(row: tuple[Any, ...]) -> Entry:
    spec = json.loads(row[5])
    created, expires, removed, removed_by = row[6:10]
    return Entry(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        spec,
        created,
        expires,
        removed,
        removed_by,
        int(row[10]),
        _parts(row[1], spec),
    )


def _parts(kind: str, spec: dict[str, Any]) -> tuple[str, ...]:
    """What an entry watches for, as a list shows it (to its readers in the workspace only)."""
    out = []
    if spec.get("values"):
        out.append(", ".join(spec["values"]))
    if spec.get("names"):
        out.append("name: " + ", ".join(spec["names"]))
    for key in ("name", "words", "place"):
        if spec.get(key):
            out.append(f"{key}: {spec[key]}")
    if spec.get("age_min") is not None:
        out.append(f"age {spec['age_min']}–{spec['age_max']}")
    if spec.get("date_from") or spec.get("date_to"):
        out.append(f"dates {spec.get('date_from') or '…'} to {spec.get('date_to') or '…'}")
    if spec.get("photo"):
        out.append(f"photo (PDQ {str(spec['photo'].get('pdq', ''))[:12]}…)")
    return tuple(out)


def entry(con: duckdb.DuckDBPyConnection, number: int) -> Entry | None:
    rows = con.execute(_SELECT + " WHERE e.entry = ?", [number]).fetchall()
    return _entry(rows[0]) if rows else None


def entries(con: duckdb.DuckDBPyConnection, *, removed: bool = False) -> list[Entry]:
    """Every entry (newest first), without the removed ones unless ``removed``."""
    where = "" if removed else " WHERE e.removed_at IS NULL"
    return [_entry(r) for r in con.execute(_SELECT + where + " ORDER BY e.entry DESC").fetchall()]
