// The admin page: progress, agreement and per-annotator quality, refreshed every 5 seconds.
// Names and attributes are untrusted text too: textContent only.
"use strict";

const TOKEN_KEY = "rlaif-annotate-admin-token";
const $ = (id) => document.getElementById(id);
let token = null;
let timer = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(100 * x)}%`);
const num = (x, d = 2) => (x === null || x === undefined ? "–" : x.toFixed(d));

function stat(label, value, sub) {
  const box = el("div", "stat card");
  box.append(el("div", "value", value), el("div", "label", label));
  if (sub) box.append(el("div", "sub muted", sub));
  return box;
}

function render(r) {
  const p = r.progress;
  $("stats").replaceChildren(
    stat("Task", r.settings.task),
    stat("Items", String(p.items), `${p.items_started} started · ${p.items_complete} complete`),
    stat("Labels", String(p.labels), `of ${p.labels_wanted} wanted (${pct(p.labels_wanted ? p.labels / p.labels_wanted : 0)})`),
    stat("Gold", String(p.gold_items), `${p.gold_labels} gold answers collected`),
    stat("Flagged", String(r.flagged.length), r.flagged.length ? r.flagged.join(", ") : "nobody"),
  );
  const a = r.agreement;
  const w = a.without_flagged;  // present when someone is flagged
  const clean = (key, fmt) => (w ? `without flagged: ${fmt(w[key])}` : undefined);
  $("agreement").replaceChildren(
    stat("Pairwise agreement", pct(a.pairwise_agreement), clean("pairwise_agreement", pct)),
    stat("Krippendorff's α", num(a.krippendorff_alpha), clean("krippendorff_alpha", num)),
    stat("Fleiss' κ", num(a.fleiss_kappa), clean("fleiss_kappa", num)),
    stat("Items with overlap", String(a.items_with_overlap), clean("items_with_overlap", String)),
  );
  const body = $("people");
  body.replaceChildren();
  for (const x of r.annotators) {
    const tr = el("tr", x.flags.length ? "flagged" : (x.active ? "" : "inactive"));
    const attrs = Object.entries(x.attributes).map(([k, v]) => `${k}: ${v}`).join(", ");
    const name = el("td", "", x.name);
    if (!x.active) name.append(" ", el("span", "badge", "revoked"));
    tr.append(name, el("td", "muted", attrs || "–"), el("td", "num", String(x.labels)),
      el("td", "num", x.gold_n ? `${pct(x.gold_accuracy)} (${x.gold_n})` : "–"),
      el("td", "num", x.shared ? `${pct(x.agreement)} (${x.shared})` : "–"),
      el("td", "num", num(x.kappa)), el("td", "num", num(x.median_seconds, 1)),
      el("td", "num", pct(x.same_answer)));
    const flags = el("td", "flags");
    for (const f of x.flags) flags.append(el("span", "badge warn", f));
    if (!x.flags.length) flags.append(el("span", "muted", "ok"));
    tr.append(flags);
    body.append(tr);
  }
  const s = r.settings;
  $("thresholds").textContent = `Flags: gold accuracy < ${pct(s.min_gold_accuracy)} (after ${s.min_gold} gold items), ` +
    `median time < ${s.min_seconds}s, same answer ≥ ${pct(s.max_same_answer)}, κ < ${s.min_kappa} ` +
    `(after ${s.min_labels} labels). Overlap: ${pct(s.overlap_fraction)} of items to ${s.overlap} annotators; ` +
    `gold rate ${pct(s.gold_rate)}.`;
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

async function refresh() {
  const r = await fetch("/api/admin/report", { headers: { Authorization: "Bearer " + token } });
  if (r.status === 401) return signOut("That admin token was not accepted.");
  if (!r.ok) { $("updated").textContent = "refresh failed: " + r.status; return; }
  localStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("report").hidden = false;
  $("logout-btn").hidden = false;
  render(await r.json());
}

function signOut(message) {
  clearInterval(timer);
  localStorage.removeItem(TOKEN_KEY);
  token = null;
  $("login").hidden = false;
  $("report").hidden = true;
  $("logout-btn").hidden = true;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
}

function signIn(t) {
  token = t;
  refresh().catch((e) => { $("updated").textContent = "offline: " + e.message; });
  clearInterval(timer);
  timer = setInterval(() => token && refresh().catch(() => {}), 5000);
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token-input").value.trim();
  if (t) signIn(t);
});
$("logout-btn").addEventListener("click", () => signOut());
function start() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) history.replaceState(null, "", location.pathname);
  const t = m ? decodeURIComponent(m[1]) : localStorage.getItem(TOKEN_KEY);
  if (t) signIn(t); else signOut();
}
window.addEventListener("hashchange", () => { if (/token=/.test(location.hash)) start(); });
start();
