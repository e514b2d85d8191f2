"""The vendored scripts and boundaries: each listed in VERSIONS with its package, version, licence
and checksum, unchanged since, and its licence file beside it. The package's (served to the
workspace) and the tests' own (axe-core, run inside the browser tests only)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from threadline.serve._pages import STATIC

VENDOR = STATIC / "vendor"
TEST_VENDOR = Path(__file__).resolve().parent / "vendor"
# What each licence's text says (a licence named but not beside its file fails).
LICENCES = {"MIT": "Permission", "ISC": "Permission", "MPL-2.0": "Mozilla Public License"}


@pytest.mark.parametrize("folder", [VENDOR, TEST_VENDOR], ids=["served", "tests"])
def test_every_vendored_file_is_listed_unchanged_with_its_licence(folder: Path) -> None:
    listed = {}
    for line in (folder / "VERSIONS").read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(
            r"(\S+)\s+(\S+@\d+\.\d+\.\d+)\s+([\w.-]+) \((\S+\.LICENSE)\)\s+([0-9a-f]{64})", line
        )
        if found:
            listed[found.group(1)] = found.groups()[1:]
    shipped = {p.name for p in folder.iterdir() if p.suffix not in (".LICENSE",) and p.name != "VERSIONS"}
    assert shipped and set(listed) == shipped
    for name, (package, licence, licence_file, sha) in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha, name
        text = (folder / licence_file).read_text(encoding="utf-8")
        assert licence in LICENCES and LICENCES[licence] in text, (package, licence)


def test_the_tests_vendored_files_are_not_served() -> None:
    assert not any(VENDOR.glob("axe*"))
