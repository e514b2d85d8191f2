"""The installation's evidence key: the Ed25519 key that signs evidence packages.

A key of its own, not the audit key (`threadline.service.audit`): the evidence key's public half
is published (to prosecutors, the defence, a court) and may have to be rotated or revoked for
reasons that must not touch the audit chain's signatures, and the other way round. It is kept
the same way: a PEM file readable by its owner only (0600), in ``$THREADLINE_KEY_DIR`` when set,
else beside the store, made by ``threadline keys init`` (never silently by an export).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from threadline.evidence import sshsig
from threadline.service import keyfiles

__all__ = ["KEY_FILE_NAME", "NAMESPACE", "EvidenceKey", "KeyError_", "init_key", "key_file", "load_key"]

KEY_FILE_NAME = "threadline-evidence.key"
NAMESPACE = "threadline-evidence"  # the SSHSIG namespace of every package signature


class KeyError_(RuntimeError):
    """No usable evidence key."""


def key_file(store_file: Path, key_dir: Path | None = None) -> Path:
    """Where the evidence key of ``store_file`` is: ``key_dir``, else ``$THREADLINE_KEY_DIR``,
    else beside the store."""
    return keyfiles.key_folder(store_file, key_dir) / KEY_FILE_NAME


@dataclass(frozen=True)
class EvidenceKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public_line(self) -> str:
        """The public key as OpenSSH writes it (``ssh-ed25519 AAAA... threadline-evidence``)."""
        return sshsig.public_key_line(self.private.public_key())

    @property
    def fingerprint(self) -> str:
        """As ``ssh-keygen -l`` prints it: ``SHA256:`` and the base64 of the key blob's SHA-256."""
        import base64

        blob = base64.b64decode(self.public_line.split()[1])
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

    def sign(self, message: bytes) -> str:
        return sshsig.sign(self.private, message, NAMESPACE)


def init_key(path: Path) -> tuple[EvidenceKey, bool]:
    """The key at ``path``, made there first (mode 0600, folder 0700 if new) when missing; and
    whether it was made now."""
    made = keyfiles.create_key_file(path) if not path.exists() else False
    key = load_key(path)
    assert key is not None
    return key, made


def load_key(path: Path) -> EvidenceKey | None:
    """The key at ``path``; None if there is none. A key others may read is refused."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    try:
        private = keyfiles.read_key_file(path, "evidence key", info)
    except keyfiles.KeyFileError as exc:
        raise KeyError_(str(exc)) from exc
    return EvidenceKey(private, path)
