"""The installation's Ed25519 key files (the audit key, the evidence key): where they are, how
one is made, and how one is read back. A key is a PEM file readable by its owner only (0600),
in ``$THREADLINE_KEY_DIR`` when set, else beside the store."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["KEY_DIR_ENV", "KeyFileError", "create_key_file", "key_folder", "read_key_file"]

KEY_DIR_ENV = "THREADLINE_KEY_DIR"


class KeyFileError(RuntimeError):
    """A key file that cannot be used: readable by others, not a key, not Ed25519."""


def key_folder(store_file: Path, key_dir: Path | None = None) -> Path:
    """``key_dir``, else ``$THREADLINE_KEY_DIR``, else the store's folder."""
    return key_dir or (Path(os.environ[KEY_DIR_ENV]) if os.environ.get(KEY_DIR_ENV) else store_file.parent)


def create_key_file(path: Path) -> bool:
    """Make a new Ed25519 key at ``path`` (mode 0600, its folder 0700 if new) unless one is there;
    whether it was made now. Two processes making it at once keep one (O_EXCL)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with open(fd, "wb") as out:
        out.write(pem)
    return True


def read_key_file(path: Path, what: str, info: os.stat_result | None = None) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (``what`` names it in errors: "audit key" ...). Refused when
    others may read the file: it signs."""
    info = info or path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise KeyFileError(f"{path}: the {what} must be readable by its owner only (chmod 600 {path})")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an {what} ({exc})") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return private
