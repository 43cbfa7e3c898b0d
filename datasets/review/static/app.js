// vtonkit review: vanilla JS, no dependencies. State lives in the URL query so a reload keeps it.
"use strict";
const PAGE_SIZE = 10;
const state = { rows: [], kinds: [], index: 0 };
const $ = (id) => document.getElementById(id);

function readQuery() {
  const q = new URLSearchParams(location.search);
  // a value the page does not offer (an old or mistyped address) leaves the filter as it is
  for (const id of ["flag", "decision", "sort"]) {
    if (q.has(id) && [...$(id).options].some((o) => o.value === q.get(id))) $(id).value = q.get(id);
  }
  state.index = Math.max(0, parseInt(q.get("i") || "0", 10) || 0);
}

function writeQuery() {
  const q = new URLSearchParams();
  for (const id of ["flag", "decision", "sort"]) if ($(id).value) q.set(id, $(id).value);
  q.set("i", String(state.index));
  history.replaceState(null, "", "?" + q.toString());
}

let statusTimer = 0;
// A short message that goes away; a failure (`sticky`) stays until the next message.
function status(text, sticky = false) {
  $("status").textContent = text.length > 600 ? text.slice(0, 597) + "..." : text;
  clearTimeout(statusTimer);
  if (!sticky) statusTimer = setTimeout(() => { $("status").textContent = ""; }, 4000);
}

// The server's reason for a refusal ({"detail": "..."}), else the HTTP status.
async function refusal(response) {
  try { return (await response.json()).detail || `HTTP ${response.status}`; } catch { return `HTTP ${response.status}`; }
}

async function getJson(url) {
  let response;
  try { response = await fetch(url); } catch {
    status("the review server cannot be reached: is `vtonkit review` still running?", true); throw new Error("offline");
  }
  if (!response.ok) { status(`cannot load ${url}: ${await refusal(response)}`, true); throw new Error("refused"); }
  return response.json();
}

async function loadFlags() {
  const data = await getJson("/api/flags");
  const select = $("flag");
  const wanted = new URLSearchParams(location.search).get("flag") || "";
  select.innerHTML = "";
  const options = [["", "all samples"], ["any", "any flag"], ["none", "no flag"]];
  for (const f of data.flags) options.push([f.code, `${f.code} (${f.samples}, ${f.severity})`]);
  for (const [value, label] of options) {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; select.appendChild(o);
  }
  select.value = wanted;
}

// Each load is numbered: only the answer to the latest shows. Two quick f presses asked for "any
// flag" then "no flag", and the large first answer, arriving last, listed 281 flagged samples
// under "no flag".
let loads = 0;

async function loadRows() {
  const ticket = ++loads;
  // this tab's saves first: a list read while a decision was being saved (r, then at once f) showed
  // the old badge, and the next key was refused as a change made elsewhere
  await saving;
  const q = new URLSearchParams({ flag: $("flag").value, decision: $("decision").value, sort: $("sort").value });
  const data = await getJson("/api/samples?" + q);
  if (ticket !== loads) return;
  state.rows = data.samples; state.kinds = data.kinds;
  $("dataset").textContent = data.dataset;
  state.index = Math.min(state.index, Math.max(0, state.rows.length - 1));
  $("other").textContent = data.other_findings.length
    ? `${data.other_findings.length} finding(s) not tied to a sample: ` +
      data.other_findings.slice(0, 3).map((f) => f.message).join(" | ") : "";
  render();
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function card(row, index) {
  const c = el("section", { class: `card decision-${row.decision}`, "data-split": row.split,
                            "data-sample": row.sample, "data-kind": row.kind, "data-index": String(index) });
  if (index === state.index) { c.classList.add("current"); c.setAttribute("aria-current", "true"); }
  const h = el("h2");
  h.appendChild(el("span", {}, `${row.split}/${row.sample}`));
  // a garment no person wears as its own: decided (and quarantined by clean) on its own
  if (row.kind === "garment") h.appendChild(el("span", { class: "kind" }, "garment"));
  h.appendChild(el("span", { class: `badge ${row.decision}`, "data-role": "decision" }, row.decision));
  const seen = new Set();
  for (const f of row.findings) {
    if (seen.has(f.code)) continue;
    seen.add(f.code);
    h.appendChild(el("span", { class: `chip ${f.severity}`, title: f.message }, f.code));
  }
  // a long note is cut to one line (the whole of it in its tooltip): it pushed the tiles off screen
  if (row.note) h.appendChild(el("span", { class: "note", "data-role": "note", title: row.note }, row.note));
  const actions = el("span", { class: "actions" });
  for (const [label, key, act] of [["keep", "k", () => decide({ decision: "keep" })],
                                   ["reject", "r", () => decide({ decision: "reject" })],
                                   ["undecided", "u", () => decide({ decision: "undecided" })],
                                   ["note", "n", () => editNote()]]) {
    const b = el("button", { type: "button", title: `${label} (${key})` }, label);
    b.addEventListener("click", (e) => { e.stopPropagation(); select(index); act(); });
    actions.appendChild(b);
  }
  h.appendChild(actions);
  c.appendChild(h);
  const grid = el("div", { class: "grid" });
  // a garment's card has its cloth and mask only (the server lists the files of the row's tiles)
  for (const k of state.kinds.filter((kind) => kind.kind in row.files)) {
    const copy = row.tile_notes[k.kind];  // a placeholder garment: a copy of another, said on its tile
    const fig = el("figure", copy ? { class: "copy" } : {});
    // The tile opens the full-resolution file behind it in a new tab.
    const link = el("a", { href: row.files[k.kind], target: "_blank", rel: "noopener", title: row.files[k.kind] });
    link.appendChild(el("img", { src: `/tile/${encodeURIComponent(row.split)}/${encodeURIComponent(row.sample)}/${k.kind}.jpg`, alt: `${k.label} of ${row.sample}`,
                                 loading: "lazy" }));
    fig.appendChild(link);
    fig.appendChild(el("figcaption", {}, copy ? `${k.label} (${copy})` : k.label));
    grid.appendChild(fig);
  }
  c.appendChild(grid);
  if (row.findings.length) {
    const d = el("details", { class: "messages" });
    d.appendChild(el("summary", {}, `${row.errors} error(s), ${row.warnings} warning(s)`));
    const ul = el("ul");
    for (const f of row.findings) ul.appendChild(el("li", { class: f.severity }, `${f.code}: ${f.message}`));
    d.appendChild(ul);
    c.appendChild(d);
  }
  // selecting a card only moves the highlight: a rebuild would close its messages and its note editor
  c.addEventListener("click", () => select(index));
  return c;
}

function select(index) {
  state.index = index;
  for (const c of $("cards").querySelectorAll(".card")) c.classList.toggle("current", Number(c.dataset.index) === index);
  writeQuery();
}

function render() {
  const pages = Math.max(1, Math.ceil(state.rows.length / PAGE_SIZE));
  const page = Math.floor(state.index / PAGE_SIZE);
  const cards = $("cards");
  // the cards are rebuilt: a card's button that had the keyboard focus gets it back
  const focused = document.activeElement;
  const focusedButton = focused && focused.matches(".card .actions button") ? focused.textContent : null;
  cards.innerHTML = "";
  state.rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE)
    .forEach((row, i) => cards.appendChild(card(row, page * PAGE_SIZE + i)));
  const filtered = $("flag").value || $("decision").value;
  if (!state.rows.length) cards.appendChild(el("p", {}, filtered ? "no sample matches this filter"
                                                                  : "this dataset holds no sample (no <split>/image/*.jpg nor cloth/*.jpg)"));
  $("page").textContent = `page ${page + 1} / ${pages}`;
  const decided = state.rows.filter((r) => r.decision !== "undecided").length;
  $("counts").textContent = `${state.rows.length} sample(s), ${decided} decided`;
  writeQuery();
  const current = cards.querySelector(".card.current");
  if (current) current.scrollIntoView({ block: "nearest" });
  if (current && focusedButton) {
    const again = [...current.querySelectorAll(".actions button")].find((b) => b.textContent === focusedButton);
    if (again) again.focus();
  }
}

function move(delta) {
  if (!state.rows.length) return;
  state.index = Math.max(0, Math.min(state.rows.length - 1, state.index + delta));
  render();
}

// This tab's saves go one after another, in the order keyed: sent at once, a quick second key on a
// card (r then u) carried the decision read before the first was saved, and was refused as a change
// made elsewhere while the first key's "saved" hid the refusal.
let saving = Promise.resolve();

function decide(payload) {
  const row = state.rows[state.index];
  if (!row) return saving;
  // a note typed and left open (clicked away, then k or r) is saved with the decision, not dropped
  const editor = $("cards").querySelector(".card.current .note-editor");
  if (editor && !("note" in payload) && editor.value !== (row.note || "")) payload = { ...payload, note: editor.value };
  saving = saving.then(() => save(row, payload));
  return saving;
}

async function save(row, payload) {
  // what this page shows once this tab's earlier saves are in: the server refuses to overwrite a
  // note or decision changed since (another tab, another reviewer)
  if ("note" in payload) payload = { ...payload, note_read: row.note || "" };
  if ("decision" in payload) payload = { ...payload, decision_read: row.decision };
  let response;
  try {
    response = await fetch("/api/decisions", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ split: row.split, sample: row.sample, ...payload }),
    });
  } catch {
    status(`not saved: the review server cannot be reached (is \`vtonkit review\` still running?)`, true); return;
  }
  if (response.status === 409) {  // changed elsewhere: show what it is now; the next key press decides on it
    const now = await response.json();
    row.decision = now.decision; row.note = now.note;
    // an open note editor keeps what was typed (to copy or send again); otherwise show the new state
    if (!$("cards").querySelector(".note-editor")) render();
    status(`not saved: ${now.detail}`, true); return;
  }
  if (!response.ok) { status(`not saved: ${await refusal(response)}`, true); return; }
  const record = await response.json();
  row.decision = record.decision; row.note = record.note;
  status(`saved ${row.split}/${row.sample}: ${record.decision}${record.note ? " (" + record.note + ")" : ""}`);
  render();
}

function editNote() {
  const current = $("cards").querySelector(".card.current");
  const row = state.rows[state.index];
  if (!current || !row) return;
  const open = current.querySelector(".note-editor");
  if (open) { open.focus(); return; }  // one editor per card
  const input = el("input", { class: "note-editor", placeholder: "note: Enter saves, Esc cancels",
                              "aria-label": `note on ${row.split}/${row.sample}` });
  input.value = row.note || "";
  current.querySelector("h2").appendChild(input);
  input.focus();
  input.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Enter") decide({ note: input.value });
    if (e.key === "Escape") render();
  });
}

document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
  const actions = {
    j: () => move(-1), ArrowLeft: () => move(-1), ArrowUp: () => move(-1),
    l: () => move(1), ArrowRight: () => move(1), ArrowDown: () => move(1),
    k: () => decide({ decision: "keep" }), r: () => decide({ decision: "reject" }),
    u: () => decide({ decision: "undecided" }), n: () => editNote(),
    f: () => cycleFilter("flag", 1), F: () => cycleFilter("flag", -1),
  };
  if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
});

// f / F: the next / previous flag of the filter, without reaching for the mouse
function cycleFilter(id, delta) {
  const select = $(id);
  if (!select.options.length) return;
  select.selectedIndex = (select.selectedIndex + delta + select.options.length) % select.options.length;
  select.dispatchEvent(new Event("change"));
}

for (const id of ["flag", "decision", "sort"]) {
  $(id).addEventListener("change", () => { state.index = 0; loadRows(); $(id).blur(); });
}
$("prev").addEventListener("click", () => move(-PAGE_SIZE));
$("next").addEventListener("click", () => move(PAGE_SIZE));

// Cards scroll to just below the sticky header, whose height grows when a narrow screen wraps it.
const clearHeader = () => document.documentElement.style.setProperty(
  "--header-height", `${document.querySelector("header").offsetHeight + 8}px`);
window.addEventListener("resize", clearHeader);
clearHeader();

(async () => { readQuery(); await loadFlags(); readQuery(); await loadRows(); document.body.dataset.ready = "1"; })();
