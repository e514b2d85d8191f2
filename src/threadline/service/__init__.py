"""The workspace's service layer: who may do what, and the record of what they did.

Library modules for the server (`threadline serve`) and the admin commands alike; none of them
speaks HTTP:

* `roles`: the permission table, `allowed(role, action)`.
* `accounts`: users, argon2id passwords, login with lockout, optional TOTP.
* `sessions`: browser sessions (random ids kept hashed, expiry, idle timeout, CSRF token).
* `tokens`: API tokens for machine clients (kept hashed, scoped, expiring, revocable).
* `audit`: the append-only, hash-chained audit log and its signed head.

Every function takes the open `Store` (or its DuckDB connection) and, where time matters, a
``now`` to inject the clock in tests. Admin acts (adding a user, a token ...) take the `Actor`
who does them and append to the audit in the same transaction.

The submodules are not imported here: the command line imports this package for its admin
commands, and argon2 and cryptography should load only when one of them runs.
"""

from __future__ import annotations

__all__ = ["accounts", "audit", "roles", "sessions", "tokens"]
