"""Watchlists and alerts (issue 16): entries that wait for identifiers, a saved search, a photo or
a missing person; alerts raised when new ads match them; their delivery to an admin's webhook or
mail server.

* `add_entry`, `remove_entry`, `entries`: the watchlist (`_entries`);
* matching (`_match`): a join of a batch's values with the entries', run by `Store.write_batch`
  for each batch it stores, and once over the archive for a new entry;
* `alerts`, `unread_count`, `mark_read`: the inbox; `case_alerts`: a case's alerts (`_alerts`);
* `deliver`: delivery settings and the server's delivery thread (`_deliver`).
"""

from __future__ import annotations

from threadline.watch._alerts import (
    Alert,
    CaseAlert,
    alert,
    alerts,
    case_alerts,
    mark_read,
    parse_alert_ref,
    unread_count,
)
from threadline.watch._entries import (
    KINDS,
    Entry,
    add_entry,
    case_ref,
    entries,
    entry,
    parse_ref,
    photo_hashes,
    remove_entry,
)
from threadline.watch._match import rule

__all__ = [
    "KINDS",
    "Alert",
    "CaseAlert",
    "Entry",
    "add_entry",
    "alert",
    "alerts",
    "case_alerts",
    "case_ref",
    "entries",
    "entry",
    "mark_read",
    "parse_alert_ref",
    "parse_ref",
    "photo_hashes",
    "remove_entry",
    "rule",
    "unread_count",
]
