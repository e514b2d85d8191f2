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

How a server uses them:

* login: `accounts.verify_login` (audited, success or not; the reason is for the audit, the page
  says only "failed" or asks for the TOTP code), then `sessions.create_session` for the cookie;
  logout: `sessions.end_session`.
* each request: `sessions.lookup_session` (cookie) or `tokens.lookup_token` (``Authorization:
  Bearer``), None meaning 401; then `roles.allowed(user.role, action)`, or for a token
  `roles.scope_allows(scope, user.role, action)`, else 403; for an unsafe method with a cookie,
  `sessions.csrf_ok` else 403.
* what it does: `audit.append` (its own transaction) or `audit.append_within` (inside the
  transaction of the act it records), with `Actor(name, "user" or "token", client address)`;
  a token's entries name it in their detail (``{"token": "T3"}``).
* now and then: `sessions.purge_expired_sessions`.

The submodules are not imported here: the command line imports this package for its admin
commands, and argon2 and cryptography should load only when one of them runs.
"""

from __future__ import annotations

__all__ = ["accounts", "audit", "roles", "sessions", "tokens"]
