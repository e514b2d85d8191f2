"""Who may do what: one permission table, and `allowed(role, action)` that denies what it lacks.

From issue 14: an analyst reads, searches, labels, merges, separates and splits, reveals images
(audited) and exports evidence, and (issue 16) works on cases; a supervisor also reads the audit
and revokes others' acts; an admin manages users, tokens and settings. Each role holds the rights
of the one below it. Issue 15: only a supervisor (or an admin) reveals an image hidden as possibly
showing a minor, with a reason, and sees the hash-list matches to report.

Three rights are this module's reading of the issue rather than its words, and are marked below:
marking a hub (the CLI makes it an analyst's decision, like a merge), revoking one's own acts
(implied by "revokes *others'* acts"), and fitting the scoring model (it changes every analyst's
priorities: a supervisor's call). An action missing from the table is denied to everyone.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLES", "SCOPES", "Action", "allowed", "scope_allows"]


class Action(StrEnum):
    READ = "read"  # networks, ads, persons, hubs, decisions, labels, models
    SEARCH = "search"
    LABEL = "label"
    MERGE = "merge"
    SEPARATE = "separate"
    SPLIT = "split"
    MARK_HUB = "mark_hub"  # reading: a hub mark is an analyst's decision in the CLI
    REVOKE_OWN = "revoke_own"  # reading: withdraw one's own decision or label
    REVEAL_IMAGE = "reveal_image"
    EXPORT_EVIDENCE = "export_evidence"
    CASE = "case"  # make a case, add and remove its members, write its notes, assign analysts
    PUSH_ADS = "push_ads"  # ingest through the API (a push token's only right)
    WATCH = "watch"  # add and remove one's own watchlist entries (issue 16)
    MARK_READ = "mark_read"  # mark alerts read (one's own read-state: a change, so not a read token's)
    READ_AUDIT = "read_audit"
    # Issue 15: an image hidden because an ad showing it states an age under 18 is revealed only
    # by a supervisor or an admin, with a reason (audited); the images matching a hash list of
    # known abuse material are listed (never shown) for mandatory reporting, and reports recorded.
    REVEAL_HIDDEN_IMAGE = "reveal_hidden_image"
    HASH_MATCHES = "hash_matches"
    REVOKE_OTHERS = "revoke_others"
    FIT = "fit"  # reading: a new model re-ranks everyone's queue
    MANAGE_USERS = "manage_users"
    MANAGE_TOKENS = "manage_tokens"
    MANAGE_SETTINGS = "manage_settings"


_ANALYST = frozenset(
    {
        Action.READ,
        Action.SEARCH,
        Action.LABEL,
        Action.MERGE,
        Action.SEPARATE,
        Action.SPLIT,
        Action.MARK_HUB,
        Action.REVOKE_OWN,
        Action.REVEAL_IMAGE,
        Action.EXPORT_EVIDENCE,
        Action.CASE,
        Action.PUSH_ADS,
        Action.WATCH,
        Action.MARK_READ,
    }
)
_SUPERVISOR = _ANALYST | {
    Action.READ_AUDIT,
    Action.REVOKE_OTHERS,
    Action.FIT,
    Action.REVEAL_HIDDEN_IMAGE,
    Action.HASH_MATCHES,
}
_ADMIN = _SUPERVISOR | {Action.MANAGE_USERS, Action.MANAGE_TOKENS, Action.MANAGE_SETTINGS}

ROLES: dict[str, frozenset[Action]] = {"analyst": _ANALYST, "supervisor": _SUPERVISOR, "admin": _ADMIN}

# What an API token may do, whatever its user's role allows beyond it: a crawler's push token
# cannot read, a dashboard's read token cannot change anything.
SCOPES: dict[str, frozenset[Action]] = {
    "read": frozenset({Action.READ, Action.SEARCH}),
    "push": frozenset({Action.PUSH_ADS}),
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``; False for an unknown role or action."""
    return action in ROLES.get(role, frozenset())


def scope_allows(scope: str, role: str, action: str) -> bool:
    """Whether a token of ``scope``, belonging to a user of ``role``, may do ``action``: both the
    scope and the role must allow it."""
    return action in SCOPES.get(scope, frozenset()) and allowed(role, action)
