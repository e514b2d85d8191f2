"""A network as a graph: GraphML (Gephi, Cytoscape, yEd) and i2 Analyst's Notebook tables.

Entities: the network, its persons, its ads, and the identifiers (phones, e-mails, handles) and
images its ads carry. Links: ad *member of* person, person *part of* network, ad *carries*
identifier or image. Both forms hold the same nodes and edges with the same ids, so a chart made
from one matches the other. The i2 import specification is docs/i2-import.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

__all__ = ["Edge", "Graph", "Node", "csv_safe", "graphml", "i2_entities_csv", "i2_links_csv", "write_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet will not run: text starting with ``=``, ``+``, ``-``,
    ``@`` (or a tab or carriage return) gets a leading ``'`` (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A CSV document (RFC 4180, CRLF) with every cell made safe by `csv_safe`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return out.getvalue()


@dataclass(frozen=True)
class Node:
    id: str  # N…, P…, SOURCE:ID, phone:+1…, image:sha256 …
    type: str  # Network, Person, Ad, Phone, Email, Handle, Image
    label: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    type: str  # member of, part of, carries
    label: str = ""


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def node(self, node: Node) -> None:
        self.nodes.setdefault(node.id, node)

    def edge(self, edge: Edge) -> None:
        self.edges.append(edge)


_ATTRS = ("first_seen", "last_seen", "date", "place", "url", "ads", "score")


def graphml(graph: Graph) -> str:
    """The graph as GraphML 1.0 (undirected edges kept directed: ad → person → network)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
        '  <key id="type" for="all" attr.name="type" attr.type="string"/>',
        '  <key id="label" for="all" attr.name="label" attr.type="string"/>',
        *(f'  <key id="{a}" for="node" attr.name="{a}" attr.type="string"/>' for a in _ATTRS),
        '  <graph id="network" edgedefault="directed">',
    ]
    for node in graph.nodes.values():
        lines.append(f"    <node id={quoteattr(node.id)}>")
        lines.append(f'      <data key="type">{_x(node.type)}</data>')
        lines.append(f'      <data key="label">{_x(node.label)}</data>')
        for a in _ATTRS:
            if node.attrs.get(a):
                lines.append(f'      <data key="{a}">{_x(node.attrs[a])}</data>')
        lines.append("    </node>")
    for i, edge in enumerate(graph.edges, 1):
        lines.append(
            f'    <edge id="e{i}" source={quoteattr(edge.source)} target={quoteattr(edge.target)}>'
            f'<data key="type">{_x(edge.type)}</data>'
            f'<data key="label">{_x(edge.label or edge.type)}</data></edge>'
        )
    lines += ["  </graph>", "</graphml>", ""]
    return "\n".join(lines)


def _x(text: str) -> str:
    # XML 1.0 forbids most control characters even escaped: ad text is hostile input.
    cleaned = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


I2_ENTITY_COLUMNS = (
    "Entity ID",
    "Entity Type",
    "Label",
    "First Seen",
    "Last Seen",
    "Date",
    "Place",
    "URL",
    "Ads",
)
I2_LINK_COLUMNS = ("Link ID", "From Entity ID", "To Entity ID", "Link Type", "Label")


def i2_entities_csv(graph: Graph) -> str:
    return write_csv(
        I2_ENTITY_COLUMNS,
        (
            (
                n.id,
                n.type,
                n.label,
                n.attrs.get("first_seen", ""),
                n.attrs.get("last_seen", ""),
                n.attrs.get("date", ""),
                n.attrs.get("place", ""),
                n.attrs.get("url", ""),
                n.attrs.get("ads", ""),
            )
            for n in graph.nodes.values()
        ),
    )


def i2_links_csv(graph: Graph) -> str:
    return write_csv(
        I2_LINK_COLUMNS,
        ((f"L{i}", e.source, e.target, e.type, e.label or e.type) for i, e in enumerate(graph.edges, 1)),
    )
