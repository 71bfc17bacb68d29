"""Inline CSS and JavaScript of the HTML run report (no external resources)."""

CSS = """
:root { --fg: #1d232a; --muted: #5b6570; --line: #d8dde3; --head: #f1f4f7; --accent: #2463a6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1200px; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
nav { margin: .8rem 0 0; font-size: .9rem; }
nav a { color: var(--accent); margin-right: 1rem; text-decoration: none; }
dl.header { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 1rem 0; }
dl.header dt { color: var(--muted); }
dl.header dd { margin: 0; }
.note { color: var(--muted); font-size: .85rem; max-width: 60rem; }
.scroll { overflow-x: auto; max-height: 36rem; overflow-y: auto; border: 1px solid var(--line); }
table.data { border-collapse: collapse; font-size: .82rem; font-variant-numeric: tabular-nums; width: 100%; }
table.data th, table.data td { padding: .25rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.data td.num { text-align: right; }
table.data thead th { position: sticky; top: 0; background: var(--head); text-align: left; }
table.data th.sortable { cursor: pointer; user-select: none; }
table.data th.sortable::after { content: " \\2195"; color: #9aa3ad; }
table.data th[aria-sort="ascending"]::after { content: " \\25B2"; color: var(--accent); }
table.data th[aria-sort="descending"]::after { content: " \\25BC"; color: var(--accent); }
table.data tbody tr:hover { background: #f7f9fb; }
tr.control td { color: var(--muted); }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; }
pre { background: var(--head); padding: 1rem; overflow: auto; font-size: .8rem; max-height: 40rem; }
"""

# Click a header to sort by that column (numbers by value, blanks last); click again to reverse.
JS = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent; }
    if (v === "") { return { blank: true }; }
    var n = Number(v);
    return isNaN(n) ? { s: v.toLowerCase() } : { n: n };
  }
  function compare(a, b) {
    if (a.blank || b.blank) { return (a.blank ? 1 : 0) - (b.blank ? 1 : 0); }
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    var x = a.n !== undefined ? String(a.n) : a.s, y = b.n !== undefined ? String(b.n) : b.s;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function sortBy(table, th) {
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (r, i) { return { r: r, k: key(r.cells[idx]), i: i }; });
    rows.sort(function (p, q) {
      var c = compare(p.k, q.k);
      if (c !== 0 && !(p.k.blank || q.k.blank)) { c = dir === "ascending" ? c : -c; }
      return c !== 0 ? c : p.i - q.i;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th) {
      th.classList.add("sortable");
      th.setAttribute("title", "click to sort");
      th.addEventListener("click", function () { sortBy(table, th); });
    });
  });
})();
"""
