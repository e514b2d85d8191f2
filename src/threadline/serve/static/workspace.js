// Threadline's workspace: keyboard shortcuts ("/" to search on every page; j/k/Enter/x in the
// triage queue). A static file (the CSP forbids inline script); it only moves focus, ticks boxes
// and follows the page's own links.
"use strict";

function typing(target) {
  if (!(target instanceof Element)) {
    return false;
  }
  if (target.closest("select, textarea, [contenteditable]")) {
    return true;
  }
  const input = target.closest("input");
  return Boolean(input && !["checkbox", "radio", "submit", "button"].includes(input.type));
}

(function () {
  const box = document.getElementById("search");
  if (!box) {
    return;
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    event.preventDefault();
    box.focus();
    box.select();
  });
})();

(function () {
  const table = document.querySelector("table.queue");
  if (!table) {
    return;
  }
  const status = document.getElementById("selection");
  const rows = () => Array.from(table.querySelectorAll("tbody tr"));
  let current = -1;

  function mark() {
    rows().forEach((row, i) => {
      row.classList.toggle("current", i === current);
      if (i === current) {
        row.setAttribute("aria-current", "true");
      } else {
        row.removeAttribute("aria-current");
      }
    });
  }

  function show(index) {
    const all = rows();
    if (!all.length) {
      return;
    }
    current = Math.max(0, Math.min(all.length - 1, index));
    mark();
    const link = all[current].querySelector("a.open");
    if (link) {
      link.focus();
    }
    all[current].scrollIntoView({ block: "nearest" });
  }

  function count() {
    const picked = rows().filter((row) => {
      const box = row.querySelector("input[type=checkbox]");
      row.classList.toggle("picked", Boolean(box && box.checked));
      return box && box.checked;
    });
    status.textContent = picked.length ? `${picked.length} selected` : "";
  }

  table.addEventListener("focusin", (event) => {
    const row = event.target.closest("tbody tr");
    const index = rows().indexOf(row);
    if (index >= 0 && index !== current) {
      current = index;
      mark();
    }
  });
  table.addEventListener("change", count);

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    if (event.key === "j") {
      show(current + 1);
    } else if (event.key === "k") {
      show(current < 0 ? 0 : current - 1);
    } else if (event.key === "x" && current >= 0) {
      const box = rows()[current].querySelector("input[type=checkbox]");
      if (box) {
        box.checked = !box.checked;
        count();
      }
    } else if (event.key === "Enter" && current >= 0) {
      if (event.target instanceof Element && event.target.closest("a, button")) {
        return; // a focused link opens itself
      }
      const link = rows()[current].querySelector("a.open");
      if (link) {
        window.location.assign(link.href);
      }
    } else {
      return;
    }
    event.preventDefault();
  });
})();

// An ad's images come blurred from the server; "reveal" swaps one image for its original, which
// the server audits each time it sends it (without script, the link opens it in a new tab).
(function () {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.reveal") : null;
    if (!link) {
      return;
    }
    const figure = link.closest("figure");
    const img = figure ? figure.querySelector("img[data-original]") : null;
    if (!img) {
      return;
    }
    event.preventDefault();
    img.src = img.dataset.original;
    img.alt = img.alt.replace(", blurred", ", original (revealed)");
    img.classList.add("revealed");
    link.replaceWith(document.createTextNode("revealed (audited)"));
  });
})();
