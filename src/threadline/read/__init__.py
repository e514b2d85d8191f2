"""The read API: everything a reader asks of a store, as plain dataclasses.

Every reader uses it: the CLI now, the HTTP server next, so that a command and a page show the
same thing and no SQL lives in either. Each function takes an open DuckDB connection (a store's,
or a cursor of it) and returns dataclasses and tuples that ``dataclasses.asdict`` turns into JSON
(datetimes aside); nothing here formats for a terminal or a page.

By subject:

* `networks`: the triage queue (`queue`: filters, sorts, pages, with each row's reasons) and one
  network (`network`: persons, identifiers, ads, evidence, hubs, score, movement, itinerary and
  circuits, decisions, labels);
* `ads`: one ad (`ad_detail`: every version, extracted values with spans, indicators, images);
* `graph`: one network drawn (`network_graph`: nodes and edges with their reasons, hubs flagged,
  capped), its posting activity per person and its places' coordinates;
* `search`: an identifier in any format, a name, an id, words of the text, a place (`search`);
* `acts`: hubs, analysts' decisions and labels (and the networks their ads are in now), fitted
  models, and whether a store is linked or scored;
* `cases`: the cases list and one case (members, what is new since the reader opened it, notes);
* `audit`: the audit log newest first, filtered by who and what (the workspace's audit page).

Why a package of its own and not ``store``: reading a store means knowing what linking and
scoring saved (lineage of ids, reasons from the weights and the lexicon, phone numbers read as
extraction reads them), and the store sits below those stages; a reader sits above them all.
"""

from __future__ import annotations

from threadline.read._common import AdRow, Page, ScorePart
from threadline.read.acts import (
    ActPage,
    Hub,
    ListedDecision,
    Model,
    act_page,
    ad_links,
    ad_networks,
    decision_list,
    hub_value_seen,
    hubs,
    is_linked,
    is_scored,
    label_list,
    models,
)
from threadline.read.ads import (
    MARKED_KINDS,
    AdDetail,
    AdVersion,
    Extracted,
    Image,
    Indicator,
    ad_detail,
    version_changes,
)
from threadline.read.audit import audit_actions, audit_entries
from threadline.read.cases import (
    CaseAd,
    CaseChoice,
    CaseMember,
    CaseNote,
    CaseNotice,
    CaseRow,
    CaseView,
    case,
    case_ads,
    case_choices,
    cases,
    network_cases,
)
from threadline.read.graph import (
    DEFAULT_GRAPH_CAP,
    Activity,
    Graph,
    GraphEdge,
    GraphNode,
    graph_json,
    network_activity,
    network_graph,
    place_coordinates,
)
from threadline.read.networks import (
    SORTS,
    Circuit,
    Identifier,
    Movement,
    NetworkRow,
    NetworkScore,
    NetworkView,
    Reason,
    Stay,
    network,
    person_itineraries,
    queue,
)
from threadline.read.search import FindResult, NetworkHit, PlaceHit, SearchResult, TextHit, find, search

__all__ = [
    "DEFAULT_GRAPH_CAP",
    "MARKED_KINDS",
    "SORTS",
    "ActPage",
    "Activity",
    "AdDetail",
    "AdRow",
    "AdVersion",
    "CaseAd",
    "CaseChoice",
    "CaseMember",
    "CaseNote",
    "CaseNotice",
    "CaseRow",
    "CaseView",
    "Circuit",
    "Extracted",
    "FindResult",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "Hub",
    "Identifier",
    "Image",
    "Indicator",
    "ListedDecision",
    "Model",
    "Movement",
    "NetworkHit",
    "NetworkRow",
    "NetworkScore",
    "NetworkView",
    "Page",
    "PlaceHit",
    "Reason",
    "ScorePart",
    "SearchResult",
    "Stay",
    "TextHit",
    "act_page",
    "ad_detail",
    "ad_links",
    "ad_networks",
    "audit_actions",
    "audit_entries",
    "case",
    "case_ads",
    "case_choices",
    "cases",
    "decision_list",
    "find",
    "graph_json",
    "hub_value_seen",
    "hubs",
    "is_linked",
    "is_scored",
    "label_list",
    "models",
    "network",
    "network_activity",
    "network_cases",
    "network_graph",
    "person_itineraries",
    "place_coordinates",
    "queue",
    "search",
    "version_changes",
]
