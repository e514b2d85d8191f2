"""Detached OpenSSH signatures (the SSHSIG format of ``ssh-keygen -Y sign``) with Ed25519.

The format is OpenSSH's PROTOCOL.sshsig: a blob holding the magic ``SSHSIG``, version 1, the
signer's public key, a namespace (what the signature is for, so that a signature made for one
purpose is never valid for another), the hash algorithm and the signature itself, over

    "SSHSIG" || string(namespace) || string("") || string("sha512") || string(SHA-512(message))

armoured as ``-----BEGIN SSH SIGNATURE-----``. Anyone can check one without Threadline:

    ssh-keygen -Y verify -f allowed_signers -I threadline -n threadline-evidence -s FILE.sig < FILE

where ``allowed_signers`` holds the line ``threadline ssh-ed25519 AAAA...`` (the published key).
"""

from __future__ import annotations

import base64
import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["SignatureError", "public_key_line", "read_public_key", "sign", "signer_of", "verify"]

_MAGIC = b"SSHSIG"
_VERSION = 1
_HASH = "sha512"
_KEY_TYPE = b"ssh-ed25519"
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"


class SignatureError(ValueError):
    """A signature that is malformed, for another namespace or key, or does not verify."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_string(blob: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(blob):
        raise SignatureError("truncated signature")
    (n,) = struct.unpack(">I", blob[at : at + 4])
    end = at + 4 + n
    if end > len(blob):
        raise SignatureError("truncated signature")
    return blob[at + 4 : end], end


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_blob(key: Ed25519PublicKey) -> bytes:
    return _string(_KEY_TYPE) + _string(_raw_public(key))


def public_key_line(key: Ed25519PublicKey, comment: str = "threadline-evidence") -> str:
    """The key as an OpenSSH public key line: ``ssh-ed25519 AAAA... comment``."""
    return f"ssh-ed25519 {base64.b64encode(_key_blob(key)).decode()} {comment}".strip()


def read_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from an OpenSSH public key line (or an allowed_signers line)."""
    words = text.split()
    for i, word in enumerate(words[:-1]):
        if word == "ssh-ed25519":
            key = serialization.load_ssh_public_key(f"ssh-ed25519 {words[i + 1]}".encode())
            if not isinstance(key, Ed25519PublicKey):  # pragma: no cover (the type says so)
                break
            return key
    raise SignatureError("not an OpenSSH ssh-ed25519 public key line")


def _signed_data(message: bytes, namespace: str) -> bytes:
    return (
        _MAGIC
        + _string(namespace.encode())
        + _string(b"")
        + _string(_HASH.encode())
        + _string(hashlib.sha512(message).digest())
    )


def sign(private: Ed25519PrivateKey, message: bytes, namespace: str) -> str:
    """The armoured SSHSIG signature of ``message`` for ``namespace``."""
    signature = private.sign(_signed_data(message, namespace))
    blob = (
        _MAGIC
        + struct.pack(">I", _VERSION)
        + _string(_key_blob(private.public_key()))
        + _string(namespace.encode())
        + _string(b"")
        + _string(_HASH.encode())
        + _string(_string(_KEY_TYPE) + _string(signature))
    )
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([_BEGIN, *lines, _END]) + "\n"


def _parse(armoured: str) -> tuple[bytes, str, str, bytes]:
    """(public key raw bytes, namespace, hash algorithm, Ed25519 signature) of a signature."""
    text = armoured.strip()
    if not (text.startswith(_BEGIN) and text.endswith(_END)):
        raise SignatureError("not an armoured SSH signature")
    try:
        blob = base64.b64decode("".join(text[len(_BEGIN) : -len(_END)].split()), validate=True)
    except ValueError as exc:
        raise SignatureError(f"signature is not base64: {exc}") from exc
    if not blob.startswith(_MAGIC) or len(blob) < 10:
        raise SignatureError("not an SSHSIG signature")
    (version,) = struct.unpack(">I", blob[6:10])
    if version != _VERSION:
        raise SignatureError(f"SSHSIG version {version} is not supported")
    key_blob, at = _read_string(blob, 10)
    namespace, at = _read_string(blob, at)
    _reserved, at = _read_string(blob, at)
    hash_alg, at = _read_string(blob, at)
    sig_blob, at = _read_string(blob, at)
    key_type, k = _read_string(key_blob, 0)
    raw_key, _ = _read_string(key_blob, k)
    sig_type, s = _read_string(sig_blob, 0)
    raw_sig, _ = _read_string(sig_blob, s)
    if key_type != _KEY_TYPE or sig_type != _KEY_TYPE:
        raise SignatureError(f"not an Ed25519 signature ({key_type.decode(errors='replace')})")
    return raw_key, namespace.decode(errors="replace"), hash_alg.decode(errors="replace"), raw_sig


def signer_of(armoured: str) -> Ed25519PublicKey:
    """The public key a signature says made it (proves nothing by itself)."""
    return Ed25519PublicKey.from_public_bytes(_parse(armoured)[0])


def verify(public: Ed25519PublicKey, message: bytes, armoured: str, namespace: str) -> None:
    """Raise `SignatureError` unless ``armoured`` is ``public``'s signature of ``message`` for
    ``namespace``."""
    raw_key, signed_namespace, hash_alg, raw_sig = _parse(armoured)
    if raw_key != _raw_public(public):
        raise SignatureError("signed by another key than the one given")
    if signed_namespace != namespace:
        raise SignatureError(f"signed for namespace {signed_namespace!r}, not {namespace!r}")
    if hash_alg not in ("sha512", "sha256"):
        raise SignatureError(f"unknown hash algorithm {hash_alg!r}")
    digest = hashlib.new(hash_alg, message).digest()
    data = _MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode()) + _string(digest)
    try:
        public.verify(raw_sig, data)
    except InvalidSignature as exc:
        raise SignatureError("the signature does not match the file") from exc
