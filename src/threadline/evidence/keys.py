"""The installation's evidence key: the Ed25519 key that signs evidence packages.

A key of its own, not the audit key (`threadline.service.audit`): the evidence key's public half
is published (to prosecutors, the defence, a court) and may have to be rotated or revoked for
reasons that must not touch the audit chain's signatures, and the other way round. It is kept
the same way: a PEM file readable by its owner only (0600), in ``$THREADLINE_KEY_DIR`` when set,
else beside the store, made by ``threadline keys init`` (never silently by an export).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from threadline.evidence import sshsig
from threadline.service.audit import KEY_DIR_ENV

__all__ = ["KEY_FILE_NAME", "NAMESPACE", "EvidenceKey", "KeyError_", "init_key", "key_file", "load_key"]

KEY_FILE_NAME = "threadline-evidence.key"
NAMESPACE = "threadline-evidence"  # the SSHSIG namespace of every package signature


class KeyError_(RuntimeError):
    """No usable evidence key."""


def key_file(store_file: Path, key_dir: Path | None = None) -> Path:
    """Where the evidence key of ``store_file`` is: ``key_dir``, else ``$THREADLINE_KEY_DIR``,
    else beside the store."""
    folder = key_dir or (Path(os.environ[KEY_DIR_ENV]) if os.environ.get(KEY_DIR_ENV) else store_file.parent)
    return folder / KEY_FILE_NAME


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
    made = False
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            # O_EXCL: two processes making the key at once must not each keep their own.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with open(fd, "wb") as out:
                out.write(pem)
            made = True
    key = load_key(path)
    assert key is not None
    return key, made


def load_key(path: Path) -> EvidenceKey | None:
    """The key at ``path``; None if there is none. A key others may read is refused."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise KeyError_(f"{path}: the evidence key must be readable by its owner only (chmod 600 {path})")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{path}: not an evidence key ({exc})") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyError_(f"{path}: not an Ed25519 key")
    return EvidenceKey(private, path)
