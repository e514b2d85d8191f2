"""The vendored scripts and boundaries: each listed in VERSIONS with its package, version, licence
and checksum, unchanged since, and its licence file beside it."""

from __future__ import annotations

import hashlib
import re

from threadline.serve._pages import STATIC

VENDOR = STATIC / "vendor"


def test_every_vendored_file_is_listed_unchanged_with_its_licence() -> None:
    listed = {}
    for line in (VENDOR / "VERSIONS").read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(r"(\S+)\s+(\S+@\d+\.\d+\.\d+)\s+(\w+) \((\S+\.LICENSE)\)\s+([0-9a-f]{64})", line)
        if found:
            listed[found.group(1)] = found.groups()[1:]
    shipped = {p.name for p in VENDOR.iterdir() if p.suffix not in (".LICENSE",) and p.name != "VERSIONS"}
    assert shipped and set(listed) == shipped
    for name, (package, licence, licence_file, sha) in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name
        text = (VENDOR / licence_file).read_text(encoding="utf-8")
        assert "Permission" in text and licence in ("MIT", "ISC"), (package, licence)
