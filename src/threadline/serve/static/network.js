// A network page's drawings: the graph (cytoscape.js, vendored) and the map (an SVG drawn on the
// vendored boundaries, decoded by topojson-client). Their data come from the page's JSON block
// (#network-data); every text from the store goes through textContent or canvas text, never HTML.
// Each drawing sets data-state="drawn" on its element when done (the browser tests wait for it).
"use strict";

const KIND_COLOUR = {
  person: "#1f5fa8",
  phone: "#2e8b57",
  email: "#c0711c",
  handle: "#7b4fb0",
  image: "#7d8893",
};
const HUB_COLOUR = "#c2332b";

function drawGraph(graph) {
  const box = document.getElementById("graph");
  if (!box || typeof cytoscape !== "function") {
    return;
  }
  const detail = document.getElementById("graph-detail");
  // Links of photos and to hubs are many and alike: their labels only when selected; the others'
  // always, unless there are too many to read.
  const photo = (kind) => kind === "image" || kind === "similar_image";
  const many = graph.edges.filter((e) => !photo(e.data.kind) && !e.data.hub).length > 12;
  const cy = cytoscape({
    container: box,
    elements: { nodes: graph.nodes, edges: graph.edges },
    minZoom: 0.2,
    maxZoom: 3,
    style: [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "font-size": 11,
          color: "#1d2228",
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.8,
          "text-background-padding": 1,
          width: 16,
          height: 16,
          "background-color": (n) => KIND_COLOUR[n.data("kind")] || "#999",
          "border-width": 1,
          "border-color": "#ffffff",
        },
      },
      {
        selector: 'node[kind = "person"]',
        style: {
          width: (n) => 26 + Math.min(30, Math.sqrt(n.data("ads")) * 3),
          height: (n) => 26 + Math.min(30, Math.sqrt(n.data("ads")) * 3),
          "font-size": 13,
          "font-weight": "bold",
        },
      },
      { selector: 'node[kind = "phone"]', style: { shape: "round-rectangle", width: 22, height: 14 } },
      { selector: 'node[kind = "email"]', style: { shape: "round-rectangle", width: 22, height: 14 } },
      { selector: 'node[kind = "handle"]', style: { shape: "round-rectangle", width: 22, height: 14 } },
      {
        selector: 'node[kind = "image"]',
        // a photo's hash means nothing at a glance: said when it is clicked
        style: { shape: "rectangle", width: 12, height: 12, label: "" },
      },
      {
        selector: "node[?hub]",
        style: {
          shape: "diamond",
          label: "data(label)",
          width: 24,
          height: 24,
          "background-color": "#ffffff",
          "border-width": 3,
          "border-color": HUB_COLOUR,
          color: HUB_COLOUR,
        },
      },
      {
        // photo hubs come by the dozen (stock photos beside many numbers): small, named on a click
        selector: 'node[?hub][kind = "image"]',
        style: { width: 14, height: 14, "border-width": 2, label: "" },
      },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "line-color": "#9aa5b1",
          "curve-style": "bezier",
          label: many ? "" : "data(label)",
          "font-size": 10,
          color: "#4a545e",
          "text-rotation": "autorotate",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.85,
          "text-background-padding": 1,
        },
      },
      { selector: 'edge[kind = "image"]', style: { label: "", "line-color": "#b4bcc5" } },
      { selector: 'edge[kind = "text"]', style: { "line-color": "#1f5fa8", width: 2.5 } },
      {
        selector: 'edge[kind = "similar_image"]',
        style: { label: "", "line-color": "#7d8893", "line-style": "dotted", width: 2 },
      },
      { selector: 'edge[kind = "analyst_merge"]', style: { "line-color": "#1d2228", width: 3.5 } },
      {
        selector: "edge[?hub]",
        style: {
          label: "", // the dashes say it (the legend too); a click gives the reason
          "line-color": HUB_COLOUR,
          "line-style": "dashed",
          "line-dash-pattern": [5, 4],
          width: 1.2,
          opacity: 0.8,
        },
      },
      {
        selector: ":selected",
        style: { "overlay-color": "#e08a00", "overlay-opacity": 0.25, label: "data(label)" },
      },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#e08a00" } },
    ],
    // A few nodes: persons in the middle ring, what they carry around them (every label has
    // room). More: a force layout, kept close to fit.
    layout:
      graph.nodes.length <= 10
        ? {
            name: "concentric",
            concentric: (node) => (node.data("kind") === "person" ? 2 : 1),
            levelWidth: () => 1,
            minNodeSpacing: 50,
            nodeDimensionsIncludeLabels: true,
            animate: false,
            fit: true,
            padding: 30,
          }
        : {
            name: "cose",
            animate: false,
            randomize: true,
            nodeRepulsion: () => 9000,
            idealEdgeLength: () => 70,
            numIter: 800,
            fit: true,
            padding: 20,
          },
  });
  // A wide box: a layout taller than wide is turned a quarter, to fill it (and be read larger).
  const bb = cy.elements().boundingBox();
  if (bb.h > bb.w * 1.1) {
    cy.nodes().positions((node) => ({ x: node.position("y"), y: -node.position("x") }));
    cy.fit(undefined, 20);
  }
  // A small graph is not blown up: fitted, but no larger than its type was made for.
  if (cy.zoom() > 1.4) {
    cy.zoom(1.4);
    cy.center();
  }
  const describe = (d) => {
    const what = d.kind === "image" ? "photo" : d.kind;
    const id = d.kind === "person" ? d.id : d.id.slice(d.kind.length + 1);
    let text = `${what} ${id}: in ${d.ads} ad${d.ads === 1 ? "" : "s"} of this network`;
    if (d.detail) {
      text += `; ${d.detail}`;
    }
    return text;
  };
  cy.on("tap", "node, edge", (event) => {
    const d = event.target.data();
    if (event.target.isNode()) {
      detail.textContent = describe(d);
    } else {
      detail.textContent = `${d.source} — ${d.target.replace(/^(phone|email|handle|image):/, "")}: ${d.reason}`;
    }
  });
  cy.on("tap", (event) => {
    if (event.target === cy) {
      detail.textContent = "Click a node or a link.";
    }
  });
  keyboard(cy, box, detail, describe);
  box.dataset.nodes = String(cy.nodes().length);
  box.dataset.edges = String(cy.edges().length);
  box.dataset.state = "drawn";
  window.threadlineGraph = cy; // for the browser tests and the console
}

// The graph by keyboard: the box takes the focus (Tab); arrow keys go to the nearest node that
// way (else the next or previous in the list: persons first, then what they carry), Home and End
// to the first and the last, Enter opens the selected node (its href: a person's ads, the ads
// carrying a value, an ad showing a photo), Escape clears the selection. What is selected is said
// in the detail box (aria-live) and kept in data-selected (for the browser tests).
const ARROWS = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

function keyboard(cy, box, detail, describe) {
  const order = cy.nodes().map((n) => n.id());
  if (!order.length) {
    return;
  }
  const byOrder = (current, step) => {
    const at = order.indexOf(current.id());
    return cy.getElementById(order[(at + step + order.length) % order.length]);
  };
  const toward = (current, key) => {
    const [ux, uy] = ARROWS[key];
    const from = current.position();
    let best = null;
    let bestScore = Infinity;
    cy.nodes().forEach((n) => {
      if (n.id() === current.id()) {
        return;
      }
      const p = n.position();
      const along = (p.x - from.x) * ux + (p.y - from.y) * uy;
      const across = Math.abs((p.x - from.x) * uy - (p.y - from.y) * ux);
      if (along <= 0 || across > along * 2) {
        return; // not that way
      }
      const score = along + 2 * across;
      if (score < bestScore) {
        best = n;
        bestScore = score;
      }
    });
    return best || byOrder(current, key === "ArrowRight" || key === "ArrowDown" ? 1 : -1);
  };
  const choose = (node) => {
    cy.elements().unselect();
    node.select();
    const p = node.renderedPosition();
    if (p.x < 0 || p.y < 0 || p.x > cy.width() || p.y > cy.height()) {
      cy.center(node);
    }
    const opens = node.data("href") ? " Enter opens it." : "";
    detail.textContent = `${describe(node.data())}.${opens}`;
    box.dataset.selected = node.id();
  };
  cy.on("select", "node", (event) => {
    box.dataset.selected = event.target.id();
  });
  box.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    const current = cy.nodes(":selected");
    const first = current.length ? current[0] : null;
    let next = null;
    if (event.key in ARROWS) {
      next = first ? toward(first, event.key) : cy.getElementById(order[0]);
    } else if (event.key === "Home") {
      next = cy.getElementById(order[0]);
    } else if (event.key === "End") {
      next = cy.getElementById(order[order.length - 1]);
    } else if (event.key === "Enter" && first) {
      if (first.data("href")) {
        window.location.assign(first.data("href"));
      } else {
        detail.textContent = `${describe(first.data())}. It has no page to open.`;
      }
    } else if (event.key === "Escape" && first) {
      cy.elements().unselect();
      delete box.dataset.selected;
      detail.textContent = "Nothing selected: arrow keys move to a node.";
    } else {
      return;
    }
    event.preventDefault();
    if (next) {
      choose(next);
    }
  });
}

// -- the map ----------------------------------------------------------------------------------

const US_BOX = [-125, 24, -66, 50]; // the lower 48: draw its states when the map reaches it

function drawMap(map) {
  const svg = document.getElementById("map");
  if (!svg || !map.places.length || typeof topojson !== "object") {
    return;
  }
  const width = 760;
  const height = 420;
  // The places' box, widened to show their surroundings (a single city sits in its region).
  let [w, s, e, n] = [180, 90, -180, -90];
  for (const p of map.places) {
    w = Math.min(w, p.lon);
    e = Math.max(e, p.lon);
    s = Math.min(s, p.lat);
    n = Math.max(n, p.lat);
  }
  const padLon = Math.max(4, (e - w) * 0.25);
  const padLat = Math.max(3, (n - s) * 0.25);
  [w, e, s, n] = [w - padLon, e + padLon, Math.max(-85, s - padLat), Math.min(85, n + padLat)];
  // Equirectangular, squeezed by the cosine of the middle latitude: true shapes near the middle.
  const squeeze = Math.cos((((s + n) / 2) * Math.PI) / 180);
  const scale = Math.min(width / ((e - w) * squeeze), height / (n - s));
  const cx = (w + e) / 2;
  const cyy = (s + n) / 2;
  const project = (lon, lat) => [width / 2 + (lon - cx) * squeeze * scale, height / 2 - (lat - cyy) * scale];

  const NS = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent) => {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) {
      node.setAttribute(k, String(v));
    }
    parent.appendChild(node);
    return node;
  };
  const pathOf = (geometry) => {
    const polygons =
      geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    let d = "";
    for (const rings of polygons) {
      for (const ring of rings) {
        d += ring.map(([lon, lat], i) => (i ? "L" : "M") + project(lon, lat).map((v) => v.toFixed(1)).join(",")).join("") + "Z";
      }
    }
    return d;
  };
  el("rect", { class: "sea", x: 0, y: 0, width, height }, svg);
  const land = el("g", { class: "land" }, svg);
  const routes = el("g", { class: "moves" }, svg);
  const spots = el("g", { class: "places" }, svg);
  const reachesUs = !(e < US_BOX[0] || w > US_BOX[2] || n < US_BOX[1] || s > US_BOX[3]);

  const load = (file) => fetch(`/static/vendor/${file}`).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
  Promise.all([load("world-countries-110m.json"), reachesUs ? load("us-states-10m.json") : null])
    .then(([world, us]) => {
      for (const f of topojson.feature(world, world.objects.countries).features) {
        if (f.geometry && !(us && f.properties.name === "United States of America")) {
          const path = el("path", { class: "country", d: pathOf(f.geometry) }, land);
          el("title", {}, path).textContent = f.properties.name;
        }
      }
      if (us) {
        for (const f of topojson.feature(us, us.objects.states).features) {
          const path = el("path", { class: "state", d: pathOf(f.geometry) }, land);
          el("title", {}, path).textContent = f.properties.name;
        }
      }
    })
    .catch(() => {
      el("text", { x: 8, y: 16, class: "map-note" }, svg).textContent = "base map not loaded";
    })
    .finally(() => {
      drawItinerary(map, project, el, routes, spots);
      svg.dataset.state = "drawn";
    });
}

function drawItinerary(map, project, el, routes, spots) {
  const at = Object.fromEntries(map.places.map((p) => [p.name, project(p.lon, p.lat)]));
  const largest = Math.max(...map.places.map((p) => p.ads), 1);
  const radius = Object.fromEntries(map.places.map((p) => [p.name, 4 + 8 * Math.max(0, Math.sqrt(p.ads / largest))]));
  const defs = el("defs", {}, routes.parentNode);
  // Each person's route in its own colour and dash (the legend under the map names them), its
  // curves bent each its own way so that two persons' moves between the same places are apart.
  (map.routes || []).forEach((route, i) => {
    const group = el("g", { class: "route", "data-person": route.person }, routes);
    el("title", {}, group).textContent = `${route.person}: ${route.path}`;
    const marker = el(
      "marker",
      {
        id: `arrow-${i}`,
        viewBox: "0 0 10 10",
        refX: 10,
        refY: 5,
        markerWidth: 10,
        markerHeight: 10,
        markerUnits: "userSpaceOnUse",
        orient: "auto",
      },
      defs,
    );
    el("path", { d: "M0,0L10,5L0,10Z", fill: route.colour }, marker);
    const bend = 0.12 + 0.07 * (i % 4);
    const most = Math.max(...route.moves.map((m) => m.times), 1);
    for (const m of route.moves) {
      const [x1, y1] = at[m.from];
      const [x2, y2] = at[m.to];
      // A curve bent to the right of its direction: A→B and B→A are drawn apart.
      const mx = (x1 + x2) / 2 + (y2 - y1) * bend;
      const my = (y1 + y2) / 2 - (x2 - x1) * bend;
      // It ends at the edge of the destination's circle, where its arrow is seen.
      const dx = x2 - mx;
      const dy = y2 - my;
      const back = (radius[m.to] + 3) / Math.max(1, Math.hypot(dx, dy));
      const [ex, ey] = [x2 - dx * back, y2 - dy * back];
      const attrs = {
        class: m.circuit ? "move on-circuit" : "move",
        d: `M${x1.toFixed(1)},${y1.toFixed(1)}Q${mx.toFixed(1)},${my.toFixed(1)} ${ex.toFixed(1)},${ey.toFixed(1)}`,
        stroke: route.colour,
        "stroke-width": ((m.circuit ? 2.5 : 1.5) + (2 * m.times) / most).toFixed(1),
        "marker-end": `url(#arrow-${i})`,
      };
      if (route.dash) {
        attrs["stroke-dasharray"] = route.dash;
      }
      const path = el("path", attrs, group);
      const said = `${route.person}: ${m.from} → ${m.to}, ${m.times} move${m.times === 1 ? "" : "s"}${m.circuit ? " (on its circuit)" : ""}`;
      el("title", {}, path).textContent = said;
      if (m.times > 1) {
        // the count at the curve's middle (a quadratic's middle: a quarter of the way to the control)
        const x = (x1 + 2 * mx + x2) / 4;
        const y = (y1 + 2 * my + y2) / 4 + 4;
        const times = el("text", { class: "times", x, y, fill: route.colour }, group);
        times.textContent = `${m.times}×`;
        el("title", {}, times).textContent = said;
      }
    }
  });
  routes.parentNode.dataset.routes = String((map.routes || []).length);
  const circuit = new Set(map.circuit);
  const width = 760;
  const taken = []; // the labels' boxes so far: a label that would cover one moves down
  const free = (box) => !taken.some((t) => box.x1 < t.x2 && t.x1 < box.x2 && box.y1 < t.y2 && t.y1 < box.y2);
  // the largest places named first: they keep their place
  for (const p of [...map.places].sort((a, b) => b.ads - a.ads)) {
    const [x, y] = at[p.name];
    const r = radius[p.name];
    const g = el("g", { class: circuit.has(p.name) ? "place on-circuit" : "place" }, spots);
    if (circuit.has(p.name)) {
      el("circle", { cx: x, cy: y, r: r + 4, class: "ring" }, g);
    }
    el("circle", { cx: x, cy: y, r }, g);
    // the name on the side with room for it
    const left = x > width * 0.6;
    const text = `${p.name} · ${p.stays} stay${p.stays === 1 ? "" : "s"}, ${p.ads} ad${p.ads === 1 ? "" : "s"}`;
    const wide = text.length * 7;
    const lx = left ? x - r - 4 : x + r + 4;
    let ly = y + 4;
    for (let tries = 0; tries < 8; tries += 1) {
      const box = { x1: left ? lx - wide : lx, x2: left ? lx : lx + wide, y1: ly - 12, y2: ly + 3 };
      if (free(box)) {
        taken.push(box);
        break;
      }
      ly += tries % 2 ? -15 * (tries + 1) : 15 * (tries + 1); // below, above, further below, ...
    }
    const label = el("text", { x: lx, y: ly, "text-anchor": left ? "end" : "start" }, g);
    label.textContent = text;
    el("title", {}, g).textContent = label.textContent;
  }
}

// Last: the constants above are declared by now.
(function () {
  const block = document.getElementById("network-data");
  if (!block) {
    return;
  }
  const data = JSON.parse(block.textContent);
  drawGraph(data.graph);
  drawMap(data.map);
})();
