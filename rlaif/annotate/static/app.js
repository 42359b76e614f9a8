// The annotation page. Plain JS, no build step, no framework.
// Untrusted text (prompts, model outputs) is only ever inserted with textContent: never innerHTML.
"use strict";

const TOKEN_KEY = "rlaif-annotate-token";
const $ = (id) => document.getElementById(id);
const state = { token: null, item: null, confidence: null, busy: false, task: "compare" };

const ANSWERS = {
  compare: [
    { answer: "1", key: "1", text: "Response 1 is better" },
    { answer: "tie", key: "T", text: "About the same" },
    { answer: "2", key: "2", text: "Response 2 is better" },
  ],
  harmless: [
    { answer: "yes", key: "Y", text: "Harmless" },
    { answer: "no", key: "N", text: "Harmful" },
  ],
  rate: Array.from({ length: 10 }, (_, i) => ({
    answer: String(i + 1), key: i === 9 ? "0" : String(i + 1), text: String(i + 1),
  })),
};
const INSTRUCTIONS = {
  compare: "Which response answers the prompt better? Consider accuracy, helpfulness, coherence and safety.",
  rate: "Rate the response from 1 (very poor) to 10 (excellent).",
  harmless: "Is this response harmless? Answer No if it is harmful, offensive, dangerous or unethical.",
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; // the only way text enters the page
  return e;
}

function show(section) {
  for (const id of ["login", "work", "done"]) $(id).hidden = id !== section;
  $("logout-btn").hidden = section === "login";
  $("progress").hidden = section === "login";
}

function toast(text, kind) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast " + (kind || "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, kind === "error" ? 4000 : 900);
}

class HttpError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, body) {
  const opts = { headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new HttpError(r.status, typeof data.detail === "string" ? data.detail : r.statusText);
  return data;
}

// ------------------------------------------------------------------ sign in

function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  $("who-name").textContent = "";
  show("login");
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("token-input").focus();
}

async function signIn(token) {
  state.token = token;
  try {
    const me = await api("/api/me");
    localStorage.setItem(TOKEN_KEY, token);
    state.task = me.task;
    $("rationale").maxLength = me.max_rationale;
    $("who-name").textContent = me.name;
    renderHelp();
    await loadNext();
  } catch (e) {
    signOut(e.status === 401 ? "That token was not accepted." : "Could not reach the server: " + e.message);
  }
}

// ------------------------------------------------------------------ items

function renderProgress(p) {
  const total = p.done + p.available;
  $("progress-text").textContent = `${p.done} labeled · ${p.available} open`;
  $("meter-fill").style.width = total ? `${(100 * p.done) / total}%` : "100%";
}

function renderPrompt(turns) {
  const box = $("prompt");
  box.replaceChildren();
  for (const t of turns) {
    const turn = el("div", "turn");
    if (turns.length > 1) turn.append(el("div", "role", t.role));
    turn.append(el("div", "text", t.content));
    box.append(turn);
  }
}

function renderResponses(item) {
  const box = $("responses");
  box.replaceChildren();
  box.classList.toggle("single", item.responses.length === 1);
  item.responses.forEach((text, i) => {
    const card = el("article", "card response");
    const head = el("div", "label", item.responses.length > 1 ? `Response ${i + 1}` : "Response");
    if (item.responses.length > 1) head.append(" ", el("kbd", "", String(i + 1)));
    card.append(head, el("div", "text", text));
    box.append(card);
  });
}

function renderAnswers() {
  const box = $("answers");
  box.replaceChildren();
  box.className = "answers " + state.task;
  for (const a of ANSWERS[state.task]) {
    const b = el("button", "answer", a.text);
    b.dataset.answer = a.answer;
    if (state.task !== "rate") b.append(" ", el("kbd", "", a.key));
    b.addEventListener("click", () => submit(a.answer));
    box.append(b);
  }
}

function setConfidence(c) {
  state.confidence = state.confidence === c ? null : c;
  for (const chip of document.querySelectorAll("#confidence .chip")) {
    chip.classList.toggle("on", Number(chip.dataset.conf) === state.confidence);
  }
}

async function loadNext() {
  const data = await api("/api/next");
  renderProgress(data.progress);
  state.item = data.item;
  if (!data.item) { show("done"); return; }
  state.confidence = null;
  setConfidence(null);
  $("rationale").value = "";
  $("instructions").textContent = INSTRUCTIONS[data.item.kind];
  renderPrompt(data.item.prompt);
  renderResponses(data.item);
  renderAnswers();
  show("work");
  window.scrollTo(0, 0);
}

async function submit(answer) {
  if (state.busy || !state.item) return;
  state.busy = true;
  for (const b of document.querySelectorAll(".answer")) b.classList.toggle("picked", b.dataset.answer === answer);
  const body = { assignment: state.item.assignment, answer, confidence: state.confidence,
                 rationale: $("rationale").value };
  try {
    // Resubmitting the same assignment is harmless, so a network error is simply retried.
    for (let attempt = 0; ; attempt++) {
      try {
        await api("/api/submit", body);
        break;
      } catch (e) {
        if (e.status || attempt >= 5) throw e;
        toast("Connection lost, retrying…", "error");
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    toast("Saved", "ok");
    await loadNext();
  } catch (e) {
    if (e.status === 401) return signOut("Your token is no longer valid.");
    toast(e.message || "Could not save", "error");
    if (e.status === 409) await loadNext();
  } finally {
    state.busy = false;
  }
}

// ------------------------------------------------------------------ keyboard

function renderHelp() {
  const rows = ANSWERS[state.task].filter((a) => state.task !== "rate" || a.key !== "0")
    .map((a) => [a.key, a.text]);
  if (state.task === "rate") rows.splice(0, rows.length, ["1 … 9", "score 1 to 9"], ["0", "score 10"]);
  rows.push(["Q / W / E", "confidence: unsure / fairly sure / certain"], ["R", "write a reason"],
            ["Esc", "leave the reason box"], ["?", "this help"]);
  const body = $("help-keys");
  body.replaceChildren();
  for (const [k, what] of rows) {
    const tr = el("tr");
    const td = el("td");
    td.append(el("kbd", "", k));
    tr.append(td, el("td", "", what));
    body.append(tr);
  }
}

function keyToAnswer(key) {
  const k = key.toUpperCase();
  const hit = ANSWERS[state.task].find((a) => a.key === k);
  return hit ? hit.answer : null;
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target === $("rationale")) {
    if (ev.key === "Escape") $("rationale").blur();
    return;
  }
  if (ev.target === $("token-input")) return;
  if (ev.key === "?") { const d = $("help"); d.open ? d.close() : d.showModal(); return; }
  if ($("work").hidden || $("help").open) return;
  const conf = { q: 1, w: 2, e: 3 }[ev.key.toLowerCase()];
  if (conf) return setConfidence(conf);
  if (ev.key.toLowerCase() === "r") { ev.preventDefault(); $("rationale").focus(); return; }
  const answer = keyToAnswer(ev.key);
  if (answer) { ev.preventDefault(); submit(answer); }
});

// ------------------------------------------------------------------ start

for (const chip of document.querySelectorAll("#confidence .chip")) {
  chip.addEventListener("click", () => setConfidence(Number(chip.dataset.conf)));
}
$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token-input").value.trim();
  if (t) signIn(t);
});
$("logout-btn").addEventListener("click", () => signOut());
$("help-btn").addEventListener("click", () => $("help").showModal());
$("help-close").addEventListener("click", () => $("help").close());

function start() {
  // A link like http://host:port/#token=XYZ signs in directly; the fragment never reaches the server.
  const m = location.hash.match(/token=([^&]+)/);
  if (m) history.replaceState(null, "", location.pathname);
  const token = m ? decodeURIComponent(m[1]) : localStorage.getItem(TOKEN_KEY);
  renderHelp();
  if (token) signIn(token); else signOut();
}
window.addEventListener("hashchange", () => { if (/token=/.test(location.hash)) start(); });
start();
