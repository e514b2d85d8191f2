"""Check an evidence package: its manifests (every altered, added or missing file named), the
bagit library's own validation, and the detached signature of its tag manifest against the key
the verifier supplies (a key found inside the package proves nothing by itself)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import bagit
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from threadline.evidence import sshsig
from threadline.evidence.keys import NAMESPACE
from threadline.evidence.package import SIGNATURE

__all__ = ["Finding", "Verification", "verify_package"]

_TAGMANIFEST = "tagmanifest-sha256.txt"
_MANIFEST = "manifest-sha256.txt"


@dataclass(frozen=True)
class Finding:
    kind: str  # altered, added, missing, signature, bag
    path: str  # relative to the package ("" for the package as a whole)
    detail: str = ""

    def line(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Verification:
    findings: list[Finding] = field(default_factory=list)
    signer: str | None = None  # the key that made the signature, as an OpenSSH line
    key_checked: bool = False  # the signature was checked against a key the verifier gave

    @property
    def ok(self) -> bool:
        return not self.findings


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _entries(bag: Path, manifest: str, found: list[Finding]) -> dict[str, str]:
    """path -> SHA-256 of a manifest; a malformed line or one pointing outside the bag is a finding."""
    out: dict[str, str] = {}
    try:
        text = (bag / manifest).read_text(encoding="utf-8")
    except FileNotFoundError:
        found.append(Finding("missing", manifest))
        return out
    except (OSError, UnicodeDecodeError) as exc:
        found.append(Finding("altered", manifest, f"unreadable: {exc}"))
        return out
    root = bag.resolve()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        target = (bag / name).resolve()
        if len(digest) != 64 or not name or (root not in target.parents):
            found.append(Finding("altered", manifest, f"line {n} is not a manifest entry"))
            continue
        out[name] = digest.lower()
    return out


def _check(bag: Path, entries: dict[str, str], found: list[Finding]) -> None:
    for name, digest in sorted(entries.items()):
        path = bag / name
        if not path.is_file():
            found.append(Finding("missing", name))
        elif _sha256(path) != digest:
            found.append(Finding("altered", name, "its SHA-256 is not the manifest's"))


def verify_package(bag_dir: Path, key: Ed25519PublicKey | None = None) -> Verification:
    """Every problem of the package at ``bag_dir``; ``key``: the signer's key as the verifier
    holds it (None: the signature is only checked against the key it names, which proves the
    package intact since signing but not who signed it)."""
    result = Verification()
    found = result.findings
    if not (bag_dir / "bagit.txt").is_file():
        found.append(Finding("missing", "bagit.txt", "not a BagIt bag"))
        return result
    tags = _entries(bag_dir, _TAGMANIFEST, found)
    payload = _entries(bag_dir, _MANIFEST, found)
    _check(bag_dir, tags, found)
    _check(bag_dir, payload, found)
    for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
        name = path.relative_to(bag_dir).as_posix()
        if name.startswith("data/"):
            if name not in payload:
                found.append(Finding("added", name, "not in the manifest"))
        elif name not in tags and not name.startswith("tagmanifest-") and name != SIGNATURE:
            found.append(Finding("added", name, "not in the tag manifest"))
    for name in ("bag-info.txt", _MANIFEST):
        if name not in tags and (bag_dir / name).exists():
            found.append(Finding("altered", _TAGMANIFEST, f"does not cover {name}"))
    # The bagit library's own validation: what it finds beyond the above (Payload-Oxum, the
    # bag declaration ...) is reported as a whole.
    if not found:
        try:
            bagit.Bag(str(bag_dir)).validate(processes=1)
        except bagit.BagError as exc:
            found.append(Finding("bag", "", str(exc).splitlines()[0]))
    _check_signature(bag_dir, key, result)
    return result


def _check_signature(bag_dir: Path, key: Ed25519PublicKey | None, result: Verification) -> None:
    found = result.findings
    try:
        armoured = (bag_dir / SIGNATURE).read_text(encoding="ascii")
    except FileNotFoundError:
        found.append(Finding("missing", SIGNATURE, "the package is not signed"))
        return
    except (OSError, UnicodeDecodeError) as exc:
        found.append(Finding("signature", SIGNATURE, f"unreadable: {exc}"))
        return
    try:
        signer = sshsig.signer_of(armoured)
        result.signer = sshsig.public_key_line(signer)
        message = (bag_dir / _TAGMANIFEST).read_bytes()
        sshsig.verify(key or signer, message, armoured, NAMESPACE)
        result.key_checked = key is not None
    except FileNotFoundError:
        pass  # the missing tag manifest is named above
    except sshsig.SignatureError as exc:
        found.append(Finding("signature", _TAGMANIFEST, str(exc)))
