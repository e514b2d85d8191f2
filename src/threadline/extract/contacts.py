"""E-mail addresses and platform handles (Snapchat, Instagram, Telegram, WhatsApp links, ...).

Advertisers spell addresses out to get past filters (``ruby at example dot com``, ``ruby [at]
example [dot] com``, ``ruby(at)example(.)com``, ``ruby @ example . com``) and move the conversation
to other platforms (``sc: ruby_lane``, ``👻 ruby_lane``, ``t.me/rubylane``). Both are strong linking
identifiers: one address or handle across many ads and phones is usually one operator.

How it works. Everything runs on the normalised text (`text.normalise`: fullwidth ``＠`` and ``．``
become ``@`` and ``.``, zero-width characters vanish), lower-cased without moving any offset, so
every match maps back to the characters as posted through the normalised text's offset table.

* E-mails: anchored on an "@" or a stand-alone "at" followed by something domain-like; the local
  part is found by a bounded walk back from the anchor, then one expression with possessive,
  bounded quantifiers reads the whole address. Separators are judged afterwards: a spelled or
  spaced separator (anything but a bare ``@`` and ``.``) needs a well-known top-level domain, which
  keeps "meet me at home. Call" and "@ 8pm. Text" out, and a full stop ends an address.
* Handles: URLs and bare domains are classified by host (platform profile links, else a personal
  site); cue words (``snap``, ``ig``, ``tg``, ``👻``, ``OF``) followed by a name give platform handles.
  Text inside an e-mail address is never read as a handle or a site, so a local part is not a
  handle and an address's domain is not a site.

Every repetition is bounded or possessive and every anchor is visited once, so a hostile megabyte
("@@@@", "at at at", "a.a.a.") costs time in proportion to its length.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from threadline.extract.text import (
    Accumulator,
    Normalised,
    Sighting,
    Sightings,
    lower_same_length,
    normalise,
    read_short_once,
)
from threadline.model import Found

__all__ = ["KNOWN_TLDS", "find_emails", "find_handles"]

# Top-level domains common in ads and personal sites. Bare domains ("mysite.example.net" without
# "http" or "www") and spelled-out e-mails must end in one of these: "available.Call" and
# "me at home. Call" are sentence breaks, not addresses.
KNOWN_TLDS = frozenset(
    """
    com net org edu gov mil int info biz name pro mobi io co me tv us uk ca au nz ie de fr es it nl
    be ch at se no dk fi pl pt ru ua br mx ar cl co in cn jp kr ph th vn id my sg hk tw za ng ke
    xyz online site club live life fun top app dev page link email world today store shop blog
    space website vip love sexy xxx porn adult cam cc ws ly gg ai so to ee am fm la bio gl social
    """.split()
)


# ---------------------------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------------------------
#
# All expressions below run on lower-cased text (case-insensitive matching is twice as slow).
# Scanning every word start for a local part costs ~15 µs per ad, so the search is anchored: an
# "@" or a stand-alone "at" followed by what looks like the first label of a domain (both
# expressions start with a literal, which the regex engine finds with a fast scan). Only there is
# the local part found by walking back, and the whole address matched.

_SP = r"[ \t]{0,3}+"
_AT_SEP = (
    rf"(?:{_SP}(?:@|[\[({{<][ \t]{{0,2}}+(?:at|@)[ \t]{{0,2}}+[\])}}>]|(?<![a-z0-9])at(?![a-z0-9])){_SP})"
)
_DOT_SEP = (
    rf"(?:{_SP}(?:\.|[\[({{<][ \t]{{0,2}}+(?:dot|\.)[ \t]{{0,2}}+[\])}}>]|(?<![a-z0-9])dot(?![a-z0-9])){_SP})"
)
_LABEL = r"[a-z0-9][a-z0-9-]{0,62}+"
_LOCAL_CHARS = r"a-z0-9._%+\-"
_EMAIL = re.compile(
    rf"(?<![a-z0-9_%+\-'’])(?P<local>[a-z0-9][{_LOCAL_CHARS}]{{0,63}}+)(?P<at>{_AT_SEP})"
    rf"(?P<domain>{_LABEL}(?:{_DOT_SEP}{_LABEL}){{1,6}}+)"
)
_AFTER_AT = rf"[ \t\])}}>]{{0,6}}+{_LABEL}{_DOT_SEP}[a-z0-9]"
_AT_ANCHORS = (
    re.compile(rf"@{_AFTER_AT}"),
    re.compile(rf"at(?<![a-z0-9]at)(?![a-z0-9]){_AFTER_AT}"),
)
# Run on the reversed text: how far a local part (and the brackets/spaces before the "at") reaches
# back from an anchor. Bounded, so a megabyte of letters before an "@" costs 70 steps.
_BACK_SEP = re.compile(r"[ \t\[({<]{0,6}+")
_BACK_LOCAL = re.compile(rf"[{_LOCAL_CHARS}]{{0,65}}+")
# Tokenises a matched domain back into labels and separators. "dot" only counts as a separator
# when it stands alone ("dotty" is a label).
_PLAIN_DOMAIN = re.compile(r"[a-z0-9.-]+")
_DOMAIN_PART = re.compile(rf"(?P<sep>{_DOT_SEP})|(?P<label>{_LABEL})")
# Words that precede a spelled "at" in ordinary sentences ("find me at mysite.example.net"): not
# local parts of an address.
_LOCAL_STOP = frozenset(
    """
    me us you i im here now home her him them it is be available located staying stay work
    working text call email mail find see meet reach contact hit dm message msg
    """.split()
)

# Handle cue words: written straight before "@name.more" they introduce a handle.
_CUE_LOCALS = frozenset(
    {"ig", "sc", "snap", "snapchat", "insta", "instagram", "tg", "telegram", "kik", "twitter", "wickr"}
)


def _run(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Length of the run ``pattern`` (which can match empty) matches at ``pos``."""
    m = pattern.match(text, pos)
    return m.end() - pos if m is not None else 0


@dataclass(frozen=True, slots=True)
class _Email:
    address: str
    start: int  # in the normalised text
    end: int
    obfuscated: bool


def _emails_in(low: str) -> tuple[_Email, ...]:
    """Every address in the lower-cased normalised text ``low`` (cached for short texts: both
    extractors of this module need them)."""
    return _emails_in_short(low) if len(low) <= _SHORT else _scan_emails(low)


_SHORT = 20_000  # longer texts are not cached: a cache of hostile megabytes would hold gigabytes


@lru_cache(maxsize=32)
def _emails_in_short(low: str) -> tuple[_Email, ...]:
    return _scan_emails(low)


def _scan_emails(low: str) -> tuple[_Email, ...]:
    anchors = sorted(m.start() for pattern in _AT_ANCHORS for m in pattern.finditer(low))
    if not anchors:
        return ()
    rev = low[::-1]
    n = len(low)
    out: list[_Email] = []
    done = 0  # addresses never overlap: anchors before the end of the last match are skipped
    for a in anchors:
        if a < done:
            continue
        i = a - _run(_BACK_SEP, rev, n - a)
        local_len = _run(_BACK_LOCAL, rev, n - i)
        start = i - local_len
        while start < i and low[start] in "._%+-":
            start += 1
        m = _EMAIL.match(low, start)
        if m is None or not (m.start("at") <= a < m.end("at")):
            continue
        done = m.end()
        email = _read_email(m)
        if email is not None:
            out.append(email)
    return tuple(out)


def _read_email(m: re.Match[str]) -> _Email | None:
    local = m.group("local")
    spelled_at = m.group("at") != "@"
    if local.endswith(".") or ".." in local:
        return None
    if spelled_at and local in _LOCAL_STOP:
        return None
    if local in _CUE_LOCALS:
        return None  # "IG@ruby.lane" is a handle after its cue, not an address
    domain = m.group("domain")
    if not spelled_at and _PLAIN_DOMAIN.fullmatch(domain):
        # The common case, and the one a flood of addresses takes: no spelled separators.
        plain = domain.split(".")
        while len(plain) >= 2 and not _plausible_tld(plain[-1], strict=False):
            plain.pop()
        if len(plain) < 2 or any(lb.startswith("-") or lb.endswith("-") for lb in plain):
            return None
        end = m.start("domain") + sum(map(len, plain)) + len(plain) - 1
        return _Email(f"{local}@{'.'.join(plain)}", m.start(), end, False)
    labels: list[str] = []
    label_ends: list[int] = []
    obfuscated = spelled_at
    sep_kind = "plain"  # how the separator before the next label was written
    base = m.start("domain")
    for part in _DOMAIN_PART.finditer(domain):
        sep = part.group("sep")
        if sep is not None:
            sep_kind = _separator_kind(sep)
            continue
        label = part.group("label")
        if labels and sep_kind == "sentence":
            break  # "ruby@example.com. Me too": a full stop ends the address
        if labels and sep_kind != "plain":
            # A spaced or spelled separator must be followed by a real top-level domain; anything
            # else after it is ordinary text ("@ 8pm. Text").
            if label not in KNOWN_TLDS:
                break
            obfuscated = True
        labels.append(label)
        label_ends.append(base + part.end())
    # Drop trailing labels until the last one is a plausible top-level domain.
    while len(labels) >= 2 and not _plausible_tld(labels[-1], strict=obfuscated):
        labels.pop()
        label_ends.pop()
    if len(labels) < 2 or any(lb.startswith("-") or lb.endswith("-") for lb in labels):
        return None
    return _Email(f"{local}@{'.'.join(labels)}", m.start(), label_ends[-1], obfuscated)


def _separator_kind(sep: str) -> str:
    """``plain`` ".", ``sentence`` ". " (a full stop), ``spaced`` " . ", or ``spelled`` (dot)."""
    if sep == ".":
        return "plain"
    if sep.strip(" \t") == ".":
        return "sentence" if sep[0] == "." else "spaced"
    return "spelled"


def _plausible_tld(label: str, *, strict: bool) -> bool:
    if strict:
        return label in KNOWN_TLDS
    return label.isalpha() and 2 <= len(label) <= 24


def find_emails(texts: Iterable[tuple[str, str]]) -> list[Found]:
    """E-mail addresses, plain or spelled out, as lower-case canonical ``local@domain``.

    >>> [f.value for f in find_emails([("body", "write ruby [at] example [dot] com")])]
    ['ruby@example.com']
    """
    acc = Accumulator("email")
    for name, text in texts:
        acc.add_sightings(name, _emails_of(text))
    return acc.found()


# "ruby22 at gmail", "ruby22 @ yahoo": a mail provider everyone knows, written without its ".com"
# (an address left incomplete on purpose, to get past filters). Only these providers: any other
# word after "at" is a place or a time. Searched only in texts holding a provider's name.
_PROVIDERS = {"gmail": "gmail.com", "yahoo": "yahoo.com", "hotmail": "hotmail.com"}
_PROVIDERS |= {"outlook": "outlook.com", "icloud": "icloud.com", "protonmail": "protonmail.com"}
_PROVIDER_ONLY = re.compile(
    rf"(?<![a-z0-9_%+\-'’])(?P<local>[a-z0-9][{_LOCAL_CHARS}]{{0,63}}+)(?P<at>{_AT_SEP})"
    rf"(?P<provider>{'|'.join(_PROVIDERS)})(?![a-z0-9@]|{_DOT_SEP}[a-z0-9])"
)


def _provider_only(low: str, taken: tuple[_Email, ...]) -> Iterator[_Email]:
    """Provider-only addresses in ``low`` that overlap none of ``taken`` (full addresses found
    before, in text order: they never overlap each other, so a bisection finds the neighbour)."""
    starts = [e.start for e in taken]
    for name in _PROVIDERS:
        pos = low.find(name)
        while pos != -1:
            lo = max(0, pos - 80)
            for m in _PROVIDER_ONLY.finditer(low, lo, pos + len(name)):
                if m.start("provider") != pos:
                    continue
                k = bisect_left(starts, m.end()) - 1
                if k >= 0 and taken[k].end > m.start():
                    continue  # part of a full address ("ruby at gmail dot com")
                local = m.group("local")
                if local.endswith(".") or ".." in local or local in _LOCAL_STOP or local in _CUE_LOCALS:
                    continue
                yield _Email(f"{local}@{_PROVIDERS[name]}", m.start(), m.end(), True)
            pos = low.find(name, pos + len(name))


@read_short_once
def _emails_of(text: str) -> tuple[Sighting, ...]:
    norm = normalise(text)
    seen = Sightings()
    low = lower_same_length(norm.text)
    found = _emails_in(low)
    for e in found:
        seen.add(e.address, norm, e.start, e.end, {"obfuscated": e.obfuscated})
    for e in _provider_only(low, found):
        seen.add(e.address, norm, e.start, e.end, {"obfuscated": True, "provider_only": True})
    return tuple(seen.items)


# ---------------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------------

# Hosts whose first path segment is a profile name.
_PLATFORM_HOSTS = {
    "instagram.com": "instagram",
    "instagr.am": "instagram",
    "t.me": "telegram",
    "telegram.me": "telegram",
    "telegram.dog": "telegram",
    "wa.me": "whatsapp",
    "api.whatsapp.com": "whatsapp",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "onlyfans.com": "onlyfans",
    "snapchat.com": "snapchat",
    "fansly.com": "fansly",
    "tiktok.com": "tiktok",
    "kik.me": "kik",
}
# Link-in-bio hosts: the host alone says nothing about who owns the page, so the first path
# segment is part of the site identifier ("site:linktr.ee/rubylane").
_LINK_HUBS = frozenset(
    [
        "linktr.ee",
        "allmylinks.com",
        "beacons.ai",
        "linkin.bio",
        "solo.to",
        "lnk.bio",
        "bio.link",
        "campsite.bio",
    ]
)
# First path segments that are site sections, not profiles.
_RESERVED_PATHS = frozenset(
    """
    p reel reels stories explore accounts tv i home search intent share hashtag status login
    signup about help privacy terms add joinchat s send watch
    """.split()
)
# Handle length per platform. The characters are the same for all ("._-" and alphanumerics):
# ads write handles the platform itself would refuse ("@bae.crystal" on X), and the handle as
# written is what links ads, so it is kept whole rather than cut at the first odd character.
_HANDLE_LENGTHS: dict[str, tuple[int, int]] = {
    # Upper bounds are loose on purpose: a handle one character longer than the platform allows
    # today is still the advertiser's identifier (Snapchat allowed 15, ads write 16).
    "snapchat": (3, 32),
    "instagram": (1, 32),
    "telegram": (5, 32),
    "twitter": (1, 32),
    "onlyfans": (1, 32),
    "fansly": (1, 32),
    "tiktok": (2, 32),
    "kik": (2, 32),
    "wickr": (3, 32),  # Wickr Me, once the app of choice for these ads
}
_HANDLE_CHARS = re.compile(r"[a-z0-9._-]+")

# A URL or bare domain, matched only at the start of a run of domain characters (`_url_starts`).
# Labels are possessive and the label group is bounded, so a failed match costs at most seven
# tries.
_URL = re.compile(
    r"(?P<scheme>https?://)?(?P<www>(?:www|m|mobile)\.)?"
    r"(?P<host>(?:[a-z0-9][a-z0-9-]{0,62}+\.){1,6}[a-z]{2,24}+)(?![a-z0-9-])"
    r"(?P<path>/[^\s<>\"'()\[\]{}|]{0,200}+)?"
)
# Every host has a "." followed by a letter: a literal-led expression the engine scans for fast.
_URL_ANCHOR = re.compile(r"\.[a-z]")
_RUN_CHARS = r"a-z0-9.@_%+\-"  # characters that glue a token together (domains, addresses)
_BACK_RUN = re.compile(rf"[{_RUN_CHARS}]{{0,460}}+")
_FWD_RUN = re.compile(rf"[{_RUN_CHARS}]*+")
_SCHEME_BEFORE = re.compile(r"(?:https?://)$")

# Cue words in front of a handle. Ambiguous ones (a state code "SC", "tg", "tele", "X") need
# explicit punctuation or "@" between cue and handle. The first cue is matched without a look-behind (the
# character before it is checked in Python) so that the engine can skip quickly to the letters a
# cue can start with.
_CUES: dict[str, str] = {
    "snapchat": "snapchat",
    "snap": "snapchat",
    "sc": "snapchat",
    "👻": "snapchat",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "telegram": "telegram",
    "tele": "telegram",
    "tg": "telegram",
    "twitter": "twitter",
    "x": "twitter",
    "onlyfans": "onlyfans",
    "of": "onlyfans",
    "fansly": "fansly",
    "kik": "kik",
    "tiktok": "tiktok",
    "wickr": "wickr",
}
_AMBIGUOUS_CUES = frozenset({"sc", "tg", "tele", "of", "x"})
_CUE_ALTS = "snapchat|snap|sc|instagram|insta|ig|telegram|tele|tg|twitter|x|onlyfans|fansly|kik|tiktok|wickr"
_NEXT_CUE = rf"(?:👻|(?<![a-z0-9])(?:{_CUE_ALTS})(?![a-z0-9]))"
_SEP_CHARS = r"[:=>~|→➡👉\-–—]"
_HANDLE_TAIL = (
    r"(?P<sep>[ \t]{0,3}+(?:(?:id|user(?:name)?|handle|name|is|me)[ \t]{0,2}+)?"
    rf"(?:{_SEP_CHARS}[ \t]{{0,3}}+){{0,2}}+(?:@[ \t]{{0,2}}+)?)"
    r"(?P<handle>[a-z0-9_][a-z0-9_.-]{0,39}+)"
)
_MORE_CUES = rf"(?:[ \t]{{0,2}}+[/&,+|][ \t]{{0,2}}+{_NEXT_CUE}){{0,3}}+"
# The first cue's words as a prefix tree (in the same order within each first letter, so the
# same words match): the engine tries one branch per position instead of every word.
_CUE_TRIE = (
    "s(?:napchat|nap|c)|i(?:nstagram|nsta|g)|t(?:elegram|ele|g|witter|iktok)|x|onlyfans|fansly|kik|wickr"
)
# Two expressions, because one alternation of the ghost emoji and the words defeats the engine's
# fast scan for the first character (4 µs per ad becomes 10 µs).
_HANDLE_CUES = (
    re.compile(rf"(?P<cues>(?:{_CUE_TRIE})(?![a-z0-9]){_MORE_CUES}){_HANDLE_TAIL}"),
    re.compile(rf"(?P<cues>👻{_MORE_CUES}){_HANDLE_TAIL}"),
)
_CUE_SPLIT = re.compile(rf"👻|{_CUE_ALTS}")
# "OF" (OnlyFans) only in capitals and only with punctuation before the name: "of" is the word.
# Runs on the normalised text before lower-casing.
_OF_CUE = re.compile(
    rf"(?<![A-Za-z0-9])OF(?![A-Za-z0-9])"
    rf"(?P<sep>[ \t]{{0,3}}+(?:{_SEP_CHARS}|@){{1,2}}+[ \t]{{0,3}}+(?:@[ \t]{{0,2}}+)?)"
    r"(?P<handle>[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}+)"
)
# The capitalised word right before "OF", which must be one that leads to a profile ("MY OF: mia").
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Z]{1,12})[ \t]{1,2}\Z")
_BEFORE_OF = frozenset({"my", "on", "me", "and", "check", "follow", "sub", "subscribe", "to", "the", "or"})
_EXPLICIT_SEP = frozenset(":=>~|→➡👉-–—@")
# Words that follow a cue in ordinary sentences ("snap me", "IG below") and are never handles.
_HANDLE_STOP = frozenset(
    """
    me only add and or is at for on the a an my in bio link below above same too also dm message
    msg follow name username user handle id please pls plz no yes available now here there if to
    with sc ig snap snapchat insta instagram tg telegram kik wickr verified verify ok
    """.split()
)


def _valid_handle(platform: str, raw: str) -> str | None:
    lengths = _HANDLE_LENGTHS.get(platform)
    m = _HANDLE_CHARS.match(raw.lower())
    if lengths is None or m is None:
        return None
    handle = m.group().rstrip("._-")
    low, high = lengths
    if not (low <= len(handle) <= high) or not any(c.isalpha() for c in handle):
        return None
    if handle in _HANDLE_STOP:
        return None
    return handle


def _url_handle(host: str, path: str) -> tuple[str, str] | None:
    """(value, platform) for a profile link on a known platform, else None."""
    platform = _PLATFORM_HOSTS[host]
    segments = [s for s in re.split(r"[/?#&=]", path) if s]
    if platform == "whatsapp":
        digits = "".join(c for c in (segments[0] if segments else "") if c.isdigit())
        if host == "api.whatsapp.com":
            digits = "".join(c for c in path.rpartition("phone=")[2].split("&")[0] if c.isdigit())
        return (f"whatsapp:+{digits}", platform) if 8 <= len(digits) <= 15 else None
    if platform == "snapchat" and len(segments) >= 2 and segments[0] == "add":
        segments = segments[1:]
    if not segments:
        return None
    first = segments[0].lstrip("@")
    if platform == "telegram" and first.startswith("+") and len(first) > 1:
        return f"telegram:{first}", platform  # a private invite link identifies a group
    if first in _RESERVED_PATHS:
        return None
    handle = _valid_handle(platform, first)
    return (f"{platform}:{handle}", platform) if handle else None


def _url_matches(low: str) -> list[re.Match[str]]:
    """URL/domain matches, each starting where a run of domain characters starts.

    Anchored on ".x"; the run's start is found by a bounded scan of the reversed text, and anchors
    inside a run already tried are skipped, so every character is scanned a bounded number of times.
    """
    out: list[re.Match[str]] = []
    n = len(low)
    rev: str | None = None
    pos = 0
    while (anchor := _URL_ANCHOR.search(low, pos)) is not None:
        a = anchor.start()
        if rev is None:
            rev = low[::-1]
        back = _run(_BACK_RUN, rev, n - a)
        start = a - back
        run_end = a + _run(_FWD_RUN, low, a)
        pos = max(run_end, a + 1)
        if back >= 460:
            continue  # longer than any host: a hostile run, not a domain
        scheme = _SCHEME_BEFORE.search(low, max(0, start - 8), start)
        m = _URL.match(low, scheme.start() if scheme else start)
        if m is not None:
            out.append(m)
            pos = max(pos, m.end())
    return out


def find_handles(texts: Iterable[tuple[str, str]]) -> list[Found]:
    """Platform handles and personal sites as lower-case ``platform:handle`` / ``site:host``.

    Platforms: ``snapchat``, ``instagram``, ``telegram``, ``whatsapp`` (``whatsapp:+<digits>`` from
    wa.me links), ``twitter`` (also x.com), ``onlyfans``, ``fansly``, ``tiktok``, ``kik``, ``wickr``;
    any other URL or domain gives ``site:<host>`` (``site:linktr.ee/<name>`` for link-in-bio pages).

    >>> [f.value for f in find_handles([("body", "SC/IG: ruby_lane")])]
    ['snapchat:ruby_lane', 'instagram:ruby_lane']
    """
    acc = Accumulator("handle")
    for name, text in texts:
        acc.add_sightings(name, _handles_of(text))
    return acc.found()


@read_short_once
def _handles_of(text: str) -> tuple[Sighting, ...]:
    norm = normalise(text)
    low = lower_same_length(norm.text)
    seen = Sightings()
    # Inside an e-mail address nothing is a handle or a site (the local part is not a handle).
    taken = _Taken((e.start, e.end) for e in _emails_in(low))
    for pattern in _HANDLE_CUES:
        for m in pattern.finditer(low):
            if m.start() > 0 and low[m.start()] != "👻" and low[m.start() - 1].isalnum():
                continue  # the cue is the end of a longer word ("big", "disc")
            cue_words = _CUE_SPLIT.findall(m.group("cues"))
            _add_cue_handles(seen, norm, low, m, cue_words, taken)
    for m in _OF_CUE.finditer(norm.text):
        before = _WORD_BEFORE.search(norm.text, max(0, m.start() - 24), m.start())
        if before is not None and before.group(1).lower() not in _BEFORE_OF:
            continue  # "TIRED OF: games", "PROOF OF: age": the word "of" in capitals
        _add_cue_handles(seen, norm, low, m, ["of"], taken)
    for m in _url_matches(low):
        if taken.overlaps(m.start(), m.end()):
            continue
        _add_url(seen, norm, m)
    return tuple(seen.items)


def _add_cue_handles(
    seen: Sightings,
    norm: Normalised,
    low: str,
    m: re.Match[str],
    cue_words: list[str],
    taken: _Taken,
) -> None:
    h_start, h_end = m.span("handle")
    if taken.overlaps(m.start(), h_end):
        return
    explicit = any(c in _EXPLICIT_SEP for c in m.group("sep"))
    raw = low[h_start:h_end]
    hit = False
    for cue in cue_words:
        if cue in _AMBIGUOUS_CUES and not explicit:
            continue
        platform = _CUES[cue]
        handle = _valid_handle(platform, raw)
        if handle is None:
            continue
        # The span covers the handle as written, with its "@" if it has one.
        start = h_start - 1 if h_start > 0 and low[h_start - 1] == "@" else h_start
        seen.add(
            f"{platform}:{handle}",
            norm,
            start,
            h_start + len(handle),
            {"platform": platform, "via": "cue"},
        )
        hit = True
    if hit:
        taken.add(h_start, h_end)


def _add_url(seen: Sightings, norm: Normalised, m: re.Match[str]) -> None:
    host = m.group("host")
    path = m.group("path") or ""
    if host in _PLATFORM_HOSTS:
        got = _url_handle(host, path)
        if got is not None:
            value, platform = got
            seen.add(value, norm, m.start(), m.end(), {"platform": platform, "via": "url"})
        return
    explicit_url = bool(m.group("scheme") or m.group("www"))
    if not explicit_url and host.rsplit(".", 1)[1] not in KNOWN_TLDS:
        return
    if any(lb.startswith("-") or lb.endswith("-") for lb in host.split(".")):
        return
    value = f"site:{host}"
    end = m.end("host")
    if host in _LINK_HUBS:
        first = next((s for s in re.split(r"[/?#]", path) if s), "")
        if not first:
            return  # the hub's front page identifies nobody
        value = f"site:{host}/{first}"
        end = m.end()
    seen.add(value, norm, m.start(), end, {"platform": "site", "via": "url"})


class _Taken:
    """Disjoint intervals of the text already claimed, with a logarithmic overlap test.

    A hostile text can hold a hundred thousand addresses; a linear scan per match would make the
    pass quadratic.
    """

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in intervals:
            self.add(start, end)

    def overlaps(self, start: int, end: int) -> bool:
        # The interval starting last before `end` is the only one that can reach into [start, end).
        i = bisect_left(self._starts, end) - 1
        return i >= 0 and self._ends[i] > start

    def add(self, start: int, end: int) -> None:
        i = bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)


# ---------------------------------------------------------------------------------------------
