"""`threadline.evidence.sshsig` against OpenSSH itself, both ways: a signature made here is
accepted by `ssh-keygen -Y verify`, and one made by `ssh-keygen -Y sign` is accepted here; a wrong
namespace, message or key is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from threadline.evidence import sshsig

NAMESPACE = "threadline-evidence"


def _keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ssh-keygen is missing: `make evidence-deps` installs openssh-client")
        pytest.skip("ssh-keygen is missing (make evidence-deps)")
    return found


def test_a_signature_verifies_here_and_not_for_another_namespace_message_or_key() -> None:
    key = Ed25519PrivateKey.generate()
    signature = sshsig.sign(key, b"manifest\n", NAMESPACE)
    assert signature.startswith("-----BEGIN SSH SIGNATURE-----\n")
    sshsig.verify(key.public_key(), b"manifest\n", signature, NAMESPACE)
    with pytest.raises(sshsig.SignatureError, match="namespace"):
        sshsig.verify(key.public_key(), b"manifest\n", signature, "file")
    with pytest.raises(sshsig.SignatureError, match="does not match"):
        sshsig.verify(key.public_key(), b"manifest!\n", signature, NAMESPACE)
    with pytest.raises(sshsig.SignatureError, match="another key"):
        sshsig.verify(Ed25519PrivateKey.generate().public_key(), b"manifest\n", signature, NAMESPACE)
    line = sshsig.public_key_line(key.public_key())
    assert sshsig.read_public_key(f"threadline {line}") is not None
    lines = signature.splitlines()
    lines[-2] = (
        lines[-2][:10] + ("B" if lines[-2][10] != "B" else "C") + lines[-2][11:]
    )  # in the signature bytes
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(key.public_key(), b"manifest\n", "\n".join(lines) + "\n", NAMESPACE)


def test_openssh_accepts_ours_and_we_accept_openssh(tmp_path: Path) -> None:
    keygen = _keygen()
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "id_ed25519"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    private.chmod(0o600)
    line = sshsig.public_key_line(key.public_key())
    (tmp_path / "allowed").write_text(f"threadline {line}\n")
    message = tmp_path / "message.txt"
    message.write_bytes(b"3f1e... data/ads.jsonl\n")
    # ours -> OpenSSH
    ours = tmp_path / "ours.sig"
    ours.write_text(sshsig.sign(key, message.read_bytes(), NAMESPACE))
    verify = [keygen, "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I", "threadline", "-n", NAMESPACE]
    with message.open("rb") as stdin:
        assert subprocess.run([*verify, "-s", str(ours)], stdin=stdin, capture_output=True).returncode == 0
    with message.open("rb") as stdin:
        wrong_ns = [*verify[:-1], "file", "-s", str(ours)]
        assert subprocess.run(wrong_ns, stdin=stdin, capture_output=True).returncode != 0
    # OpenSSH -> ours
    subprocess.run([keygen, "-Y", "sign", "-f", str(private), "-n", NAMESPACE, str(message)], check=True,
                   capture_output=True)  # fmt: skip
    theirs = Path(f"{message}.sig").read_text()
    sshsig.verify(key.public_key(), message.read_bytes(), theirs, NAMESPACE)
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(key.public_key(), message.read_bytes() + b"x", theirs, NAMESPACE)
