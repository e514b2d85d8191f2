"""The workspace server (`threadline serve`): one process that owns the store.

* `_run`: claims the store (`_lock`: a second server refuses in one line), opens it, serves it
  with uvicorn until stopped.
* `_writer`: the one writer (a thread and its queue: every change in order) and the readers'
  cursors (each request thread reads the last committed state, never waiting for a link run).
* `_auth`: sessions, tokens, roles and CSRF for every route; deny by default.
* `_api`: the JSON API under ``/api/v1``; `_app`: the app, its error handlers and the middleware
  (`_http`: security headers, the cap on request bodies).
* `_pages`: the workspace's pages (sign-in, the triage queue, a network, an ad): Jinja2 templates
  (``templates/``) and the package's own stylesheet and script (``static/``); `_markup`: ad text
  made inert for them (escaped, extracted values marked, hidden characters shown).

Accounts, sessions, tokens, roles and the audit are `threadline.service`'s; what is read is
`threadline.read`'s; this package only speaks HTTP.
"""

from __future__ import annotations

from threadline.serve._app import create_app, wrap
from threadline.serve._auth import CSRF_HEADER, OPEN_ROUTES
from threadline.serve._context import Context, Settings
from threadline.serve._lock import ServerLock, ServerRunning, lock_path
from threadline.serve._run import ServeError, run

__all__ = [
    "CSRF_HEADER",
    "OPEN_ROUTES",
    "Context",
    "ServeError",
    "ServerLock",
    "ServerRunning",
    "Settings",
    "create_app",
    "lock_path",
    "run",
    "wrap",
]
