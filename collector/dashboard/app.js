// tracerail dashboard: vanilla JS, inline SVG charts, data only from the collector's API.
"use strict";

const CFG = window.TRACERAIL;
const KEY_STORE = "tracerail.apiKey";
const $ = (sel) => document.querySelector(sel);
const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = { allow: "#9aa7b5", flag: "#e0b400", redact: "#e08a00", block: "#c0392b" };

// --- API ------------------------------------------------------------------------------------
function headers() {
  const key = localStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  }
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) {
    let detail = response.statusText;
    try { const body = await response.json(); detail = body.detail || body.error || detail; } catch (e) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

const getJSON = async (path, params) => (await api(path, params)).json();

function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = String(err.message || err);
}

function rangeParams() {
  const days = Number($("#range").value);
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400000);
  return { from: from.toISOString(), to: to.toISOString(), days };
}

async function download(path, params, fallbackName) {
  const response = await api(path, params);
  const blob = await response.blob();
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = match ? match[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return a.download;
}

// --- helpers ----------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
const fmtTime = (iso) => iso.replace("T", " ").slice(0, 19);

// --- charts -------------------------------------------------------------------------------------
const W = 560, H = 180, L = 44, B = 24, T = 10;

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function frame(yMax, labels, fmt) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "font-size": "10" });
  const plotH = H - T - B;
  for (let i = 0; i <= 4; i++) {
    const y = T + plotH - (plotH * i) / 4;
    root.append(svg("line", { x1: L, x2: W - 6, y1: y, y2: y, stroke: "#e3e7ec" }));
    root.append(svg("text", { x: L - 5, y: y + 3, "text-anchor": "end", fill: "#5a6675" }, fmt((yMax * i) / 4)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 7));
  labels.forEach((label, i) => {
    if (i % step === 0) root.append(svg("text", { x: xAt(i, labels.length), y: H - 7, "text-anchor": "middle", fill: "#5a6675" }, label));
  });
  return root;
}

const xAt = (i, n) => L + ((W - 6 - L) / Math.max(n, 1)) * (i + 0.5);
const yAt = (v, yMax) => T + (H - T - B) - ((H - T - B) * Math.min(v, yMax)) / yMax;

function stackedBars(target, labels, series) {
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const yMax = niceMax(Math.max(0, ...totals));
  const root = frame(yMax, labels, (v) => String(Math.round(v * 10) / 10));
  const slot = (W - 6 - L) / Math.max(labels.length, 1);
  labels.forEach((label, i) => {
    let base = 0;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (!v) continue;
      const y0 = yAt(base, yMax), y1 = yAt(base + v, yMax);
      const rect = svg("rect", { x: xAt(i, labels.length) - slot * 0.35, y: y1, width: slot * 0.7, height: Math.max(y0 - y1, 0.5), fill: s.color, class: "bar" });
      rect.append(svg("title", {}, `${s.name} ${label}: ${v}`));
      root.append(rect);
      base += v;
    }
  });
  render(target, root, series);
}

function lines(target, labels, series, band) {
  const values = series.flatMap((s) => s.values).concat(band ? band.hi : []).filter((v) => v !== null);
  const yMax = band ? 1 : niceMax(Math.max(0, ...values));
  const root = frame(yMax, labels, band ? (v) => Math.round(v * 100) + "%" : (v) => String(Math.round(v)));
  if (band) {
    labels.forEach((_, i) => {
      if (band.lo[i] === null || band.lo[i] === undefined) return;
      const half = Math.max(3, ((W - 6 - L) / labels.length) * 0.3);
      const top = yAt(band.hi[i], 1), bottom = yAt(band.lo[i], 1);
      root.append(svg("rect", { x: xAt(i, labels.length) - half, y: top, width: 2 * half, height: Math.max(bottom - top, 1), fill: "#9dc3ea", opacity: "0.7", class: "band" }));
    });
  }
  for (const s of series) {
    const pts = s.values.map((v, i) => (v === null ? null : [xAt(i, labels.length), yAt(v, yMax)])).filter(Boolean);
    if (pts.length > 1) root.append(svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
    for (const [x, y] of pts) root.append(svg("circle", { cx: x, cy: y, r: 3, fill: s.color, class: "point" }));
  }
  render(target, root, series);
}

function render(target, root, series) {
  const node = $(target);
  node.replaceChildren(root);
  const legend = el("div", { class: "legend" });
  for (const s of series) {
    const swatch = el("i");
    swatch.style.background = s.color;
    legend.append(swatch, s.name);
  }
  node.append(legend);
}

// --- overview ---------------------------------------------------------------------------------
async function loadOverview() {
  const range = rangeParams();
  const bucket = range.days <= 2 ? "hour" : "day";
  await fillOverviewChoices(range);
  const data = await getJSON("/api/v1/metrics/timeseries", { from: range.from, to: range.to, bucket, ...overviewFilters() });
  showOverviewNote(data.filters);
  const o = data.overview;
  $("#card-calls").textContent = o.calls.toLocaleString();
  $("#card-cost").textContent = "$" + o.cost_usd.toFixed(4);
  $("#card-hallucination").textContent = pct(o.hallucination_rate);
  $("#card-hallucination-ci").textContent = o.hallucination_ci95
    ? `95% CI ${pct(o.hallucination_ci95[0])} – ${pct(o.hallucination_ci95[1])}, n=${o.evaluated}` : "no scored calls";
  $("#card-blocked").textContent = o.blocked.toLocaleString();
  const pts = data.points;
  const labels = pts.map((p) => (bucket === "hour" ? p.time.slice(11, 16) : p.time.slice(5, 10)));
  stackedBars("#chart-volume", labels, [
    { name: "calls", color: "#2f6fb3", values: pts.map((p) => p.calls - p.blocked) },
    { name: "blocked", color: "#c0392b", values: pts.map((p) => p.blocked) },
  ]);
  lines("#chart-latency", labels, [
    { name: "p50", color: "#2f6fb3", values: pts.map((p) => p.p50_latency_ms) },
    { name: "p95", color: "#c0392b", values: pts.map((p) => p.p95_latency_ms) },
  ]);
  lines("#chart-hallucination", labels, [
    { name: "hallucination rate", color: "#2f6fb3", values: pts.map((p) => p.hallucination_rate) },
  ], {
    lo: pts.map((p) => (p.hallucination_ci95 ? p.hallucination_ci95[0] : null)),
    hi: pts.map((p) => (p.hallucination_ci95 ? p.hallucination_ci95[1] : null)),
  });
  stackedBars("#chart-actions", labels, CFG.actions.map((a) => ({ name: a, color: COLORS[a] || "#888", values: pts.map((p) => p.actions[a] || 0) })));
}

// --- traces -----------------------------------------------------------------------------------
async function searchTraces(event) {
  if (event) event.preventDefault();
  const form = new FormData($("#trace-search"));
  const range = rangeParams();
  const params = { from: range.from, to: range.to, limit: 50 };
  for (const [k, v] of form.entries()) params[k] = v.trim();
  const data = await getJSON("/api/v1/spans", params);
  const body = $("#trace-results tbody");
  body.replaceChildren(...data.spans.map((s) => el("tr", { onclick: () => openTrace(s.trace_id).catch(showError), "data-trace": s.trace_id },
    el("td", {}, fmtTime(s.start_time)), el("td", {}, s.name), el("td", {}, s.response_model || s.request_model),
    el("td", {}, s.duration_ms.toFixed(1)), el("td", {}, s.status_code), el("td", {}, el("code", {}, s.trace_id.slice(0, 12) + "…")))));
  if (!data.spans.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "No spans match.")));
}

function decisionBadges(span) {
  const prefix = CFG.guardrailPrefix + " ";
  return span.events.filter((e) => e.name.startsWith(prefix)).map((e) => {
    const a = e.attributes;
    const action = a[CFG.attr.action] || a[CFG.attr.verdict] || "";
    let entities = "";
    try { entities = JSON.parse(a[CFG.attr.entityTypes] || "[]").join(", "); } catch (err) { entities = a[CFG.attr.entityTypes] || ""; }
    const text = `${a[CFG.attr.check] || e.name.slice(prefix.length)} (${a[CFG.attr.target] || "?"}): ${action}${entities ? " · " + entities : ""}`;
    return el("span", { class: "decision " + action }, text);
  });
}

function provenance(span) {
  const a = span.attributes;
  if (!a[CFG.attr.promptSha] && !a[CFG.attr.templateId]) return null;
  const rows = [
    ["template", a[CFG.attr.templateId] ? `${a[CFG.attr.templateId]} v${a[CFG.attr.templateVersion] || "?"}` : "–"],
    ["sources", a[CFG.attr.sourceCount] || "0"],
    ["prompt sha256", a[CFG.attr.promptSha] || "–"],
    ["answer sha256", a[CFG.attr.answerSha] || "–"],
  ];
  return el("div", { class: "prov" }, "Provenance: ", ...rows.map(([k, v]) => el("span", {}, ` ${k} `, el("code", {}, v), " ·")));
}

function spanNode(span) {
  const box = el("div", { class: "span" + (span.status_code === "ERROR" ? " error" : ""), "data-span": span.span_id },
    roleBadge(span), el("b", {}, span.name), " ",
    el("span", { class: "meta" }, `${span.observation_kind || span.kind} · ${span.duration_ms.toFixed(1)} ms · ${span.status_code}${span.status_message ? " · " + span.status_message : ""}`),
    el("div", {}, ...decisionBadges(span)), provenance(span));
  const children = span.children.length ? el("ul", {}, ...span.children.map((c) => el("li", {}, spanNode(c)))) : null;
  return el("div", {}, box, children);
}

async function openTrace(traceId, spanId) {
  const data = await getJSON("/api/v1/traces/" + encodeURIComponent(traceId));
  $("#trace-id").textContent = data.trace_id;
  $("#trace-tree").replaceChildren(el("div", { class: "tree" }, el("ul", {}, ...data.tree.map((s) => el("li", {}, spanNode(s))))));
  if (!location.hash.startsWith("#trace/" + data.trace_id)) history.pushState(null, "", "#trace/" + data.trace_id); // trace explorer
  await traceExplorer(data, spanId); // trace explorer: waterfall and span detail
  $("#trace-view").hidden = false;
  $("#trace-view").scrollIntoView();
}

// --- audit ------------------------------------------------------------------------------------
let auditCursor = null;

function auditParams() {
  const range = rangeParams();
  const params = { from: range.from, to: range.to };
  for (const [k, v] of new FormData($("#audit-filters")).entries()) if (v.trim()) params[k] = v.trim();
  return params;
}

async function loadAudit(more) {
  const params = { ...auditParams(), limit: 50 };
  if (more && auditCursor) params.cursor = auditCursor;
  const data = await getJSON("/api/v1/audit/events", params);
  auditCursor = data.next_cursor;
  const rows = data.events.map((e) => el("tr", { onclick: () => { showTab("traces"); openTrace(e.trace_id).catch(showError); } },
    el("td", {}, fmtTime(e.time)), el("td", {}, e.kind), el("td", {}, e.model), el("td", {}, e.user_id),
    el("td", {}, e.check || (e.kind === "score" ? e.name : "")), el("td", { class: e.action === "block" ? "action-block" : "" }, e.action),
    el("td", {}, e.entity_types.join(", ")), el("td", {}, (e.value !== null ? e.value + " " : "") + e.detail),
    el("td", {}, el("code", {}, e.trace_id.slice(0, 12) + "…"))));
  const body = $("#audit-results tbody");
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  const parts = Object.entries(data.totals).map(([k, v]) => `${k} ${v}`).join(" · ");
  $("#audit-totals").textContent = `${data.total} matching (${parts}); showing ${body.children.length}`;
  $("#audit-more").hidden = !auditCursor;
}

// --- report -----------------------------------------------------------------------------------
async function downloadReport(event) {
  event.preventDefault();
  const form = new FormData($("#report-form"));
  const from = form.get("from"), to = form.get("to"), format = form.get("format");
  const toDate = new Date(to + "T00:00:00Z");
  toDate.setUTCDate(toDate.getUTCDate() + 1); // the end day is included
  $("#report-status").textContent = "Preparing report…";
  const name = await download("/api/v1/reports/compliance", { from: from + "T00:00:00Z", to: toDate.toISOString(), format }, `compliance.${format}`);
  $("#report-status").textContent = "Downloaded " + name;
}

// --- wiring -----------------------------------------------------------------------------------
const loaders = { overview: loadOverview, traces: searchTraces, audit: () => loadAudit(false), report: async () => {} };
let current = "overview";

function showTab(name) {
  current = name;
  for (const button of document.querySelectorAll("nav button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== "tab-" + name;
}

function refresh() {
  showError(null);
  return loaders[current]().catch(showError);
}

function init() {
  for (const kind of CFG.kinds) $("#audit-filters select[name=kind]").append(el("option", { value: kind }, kind));
  for (const action of CFG.actions) $("#audit-filters select[name=action]").append(el("option", { value: action }, action));
  const key = $("#api-key");
  key.value = localStorage.getItem(KEY_STORE) || "";
  key.addEventListener("change", () => { if (key.value) localStorage.setItem(KEY_STORE, key.value); else localStorage.removeItem(KEY_STORE); refresh(); });
  for (const button of document.querySelectorAll("nav button")) button.addEventListener("click", () => { showTab(button.dataset.tab); refresh(); });
  $("#range").addEventListener("change", refresh);
  $("#trace-search").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  $("#audit-filters").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  $("#audit-more").addEventListener("click", () => loadAudit(true).catch(showError));
  for (const fmt of ["csv", "jsonl"]) {
    $("#audit-export-" + fmt).addEventListener("click", () => download("/api/v1/audit/export", { ...auditParams(), include_allow: String($("#audit-filters [name=include_allow]").checked), format: fmt }, "audit." + fmt).catch(showError));
  }
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400000);
  $("#report-form [name=to]").value = today.toISOString().slice(0, 10);
  $("#report-form [name=from]").value = monthAgo.toISOString().slice(0, 10);
  $("#report-form").addEventListener("submit", (e) => downloadReport(e).catch((err) => { $("#report-status").textContent = ""; showError(err); }));
  refresh();
}

// --- online evaluator panel (GET /api/v1/evaluators) -------------------------------------------
// Its own loader, chained after the overview's (refreshed with it: tab, range, key).
async function loadOnlineEval() {
  const rows = $("#online-eval-rows");
  if (!rows) return;
  const data = await getJSON("/api/v1/evaluators");
  const o = data.online;
  const num = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString());
  const fields = o.enabled
    ? [
      ["Evaluator", `${o.evaluator} ${o.version}`],
      ["State", o.running ? "running" : "stopped"],
      ["Scored (this run / all)", `${num(o.scored)} / ${num(o.scored_total)}`],
      ["Pending", num(o.pending)],
      ["Passed over (no text, judge calls)", num(o.skipped)],
      ["Errors", num(o.errors) + (o.last_error ? ` — ${o.last_error}` : "")],
      ["Rate (scored/s, limit)", `${o.rate_per_second} / ${o.rate_limit_per_second}`],
      ["Last run", o.last_run ? fmtTime(o.last_run) : "–"],
    ]
    : [["Evaluator", `${o.evaluator} (off: set TRACERAIL_ONLINE_EVAL_ENABLED=true)`]];
  rows.replaceChildren(...fields.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
}

// Runs after the overview's own loader, and only once that succeeded (same key, no extra 401s).
const loadOverviewCharts = loaders.overview;
loaders.overview = async () => {
  await loadOverviewCharts();
  await loadOnlineEval().catch((err) => {
    $("#online-eval-rows").replaceChildren(el("tr", {}, el("td", { class: "muted" }, String(err.message || err))));
  });
};
// --- end online evaluator panel -----------------------------------------------------------------

// --- corrected hallucination rate (GET /api/v1/metrics/hallucination-rate) ---------------------
// Per model: the headline evaluator's raw rate, its sensitivity and specificity against human
// labels, and the rate corrected for that error; "not validated" where labels are too few.
const withCI = (v, ci) => (v === null || v === undefined ? "–" : ci ? `${pct(v)} (${pct(ci[0])} – ${pct(ci[1])})` : pct(v));

function correctedRow(g) {
  const v = g.corrected;
  if (!v) {
    return el("tr", { "data-group": g.group }, el("td", {}, g.group || "(unknown)"), el("td", {}, "–"),
      el("td", { class: "raw" }, "–"), el("td", { class: "labels" }, "–"), el("td", { class: "se" }, "–"), el("td", { class: "sp" }, "–"),
      el("td", { class: "corrected" }, el("b", { class: "not-validated" }, "not validated"), el("small", {}, "no evaluator scored this model's calls")));
  }
  const corrected = v.corrected_rate === null
    ? el("td", { class: "corrected" }, el("b", { class: "not-validated" }, v.validated ? "cannot be corrected" : "not validated"), el("small", {}, v.reason))
    : el("td", { class: "corrected" }, withCI(v.corrected_rate, v.corrected_ci95));
  return el("tr", { "data-group": g.group },
    el("td", {}, g.group || "(unknown)"),
    el("td", { class: "evaluator" }, `${v.evaluator}${v.version ? " " + v.version : ""}`),
    el("td", { class: "raw" }, withCI(v.raw_rate, v.raw_ci95)),
    el("td", { class: "labels" }, String(v.labels)),
    el("td", { class: "se" }, withCI(v.sensitivity, v.sensitivity_ci95)),
    el("td", { class: "sp" }, withCI(v.specificity, v.specificity_ci95)),
    corrected);
}

async function loadCorrectedRates() {
  const rows = $("#corrected-rates-rows");
  if (!rows) return;
  const range = rangeParams();
  const data = await getJSON("/api/v1/metrics/hallucination-rate", { from: range.from, to: range.to, group_by: "model", ...overviewFilters() });
  const groups = data.groups.filter((g) => g.evaluated || (g.evaluators && g.evaluators.length));
  rows.replaceChildren(...groups.map(correctedRow));
  if (!groups.length) rows.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No scored calls in this range.")));
  $("#corrected-rates-method").textContent = `Corrected rate: ${data.correction.method}. Validated with at least ${data.correction.min_labels} human labels on the evaluator's calls, some of each kind; otherwise "not validated" and the raw rate is the evaluator's word alone.`;
  $("#corrected-rates-evaluators").textContent = "Evaluators that contributed: " + (data.evaluators.length
    ? data.evaluators.map((e) => `${e.evaluator}${e.version ? " " + e.version : ""}${e.prompt_sha256 ? " (prompt sha256 " + e.prompt_sha256 + ")" : ""} [${e.source}]`).join("; ")
    : "none");
}

document.addEventListener("DOMContentLoaded", () => {
  const load = () => { if (!$("#tab-overview").hidden) loadCorrectedRates().catch(showError); };
  load();
  $("#range").addEventListener("change", load);
  for (const button of document.querySelectorAll("nav button[data-tab=overview]")) button.addEventListener("click", load);
});
// --- end corrected hallucination rate ----------------------------------------------------------

// --- human review queue (GET /api/v1/review/sample, POST /api/v1/review/labels) --------------
// A seeded, stratified sample of generations; question | sources | answer side by side, as
// stored (redacted); a label (grounded / hallucinated / unsure) with a note and the reviewer id.
const REVIEWER_STORE = "tracerail.reviewer";
let reviewNext = null;

async function postJSON(path, body) {
  const response = await fetch(new URL(path, location.origin), {
    method: "POST", headers: { ...headers(), "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status}: ${data.detail || data.error || response.statusText}`);
  return data;
}

function reviewParams() {
  const form = new FormData($("#review-form"));
  const params = {};
  for (const k of ["seed", "margin", "per_stratum", "model", "period", "population"]) {
    const v = String(form.get(k) || "").trim();
    if (v) params[k] = v;
  }
  const to = new Date(form.get("to") + "T00:00:00Z");
  to.setUTCDate(to.getUTCDate() + 1); // the end day is included
  params.from = form.get("from") + "T00:00:00Z";
  params.to = to.toISOString();
  return params;
}

function reviewStatus(review) {
  if (!review) return "not labelled";
  return `${review.label} · ${review.reviewer || "?"}${review.note ? " · “" + review.note + "”" : ""}`;
}

function sourceBlock(s) {
  const name = [s.id, s.title, s.uri].filter(Boolean).join(" · ") || (s.retrieved ? "retrieved" : "source");
  return el("div", { class: "source" }, el("b", {}, name), s.sha256 ? el("code", { title: "sha256" }, " " + s.sha256.slice(0, 12) + "…") : null,
    el("p", {}, s.text !== undefined ? s.text : el("i", { class: "muted" }, "text not stored (only its hash)")));
}

function reviewItem(item) {
  const status = el("span", { class: "review-status" }, reviewStatus(item.review));
  const note = el("textarea", { name: "note", rows: "2", placeholder: "note (why?)" });
  const box = el("div", { class: "review-item" + (item.review ? " labelled " + item.review.label : ""), "data-span": item.span_id, "data-trace": item.trace_id });
  const label = async (value) => {
    const reviewer = $("#review-form [name=reviewer]").value.trim();
    if (!reviewer) throw new Error("Enter your reviewer id before labelling.");
    localStorage.setItem(REVIEWER_STORE, reviewer);
    await postJSON("/api/v1/review/labels", { reviewer, labels: [{ trace_id: item.trace_id, span_id: item.span_id, label: value, note: note.value }] });
    item.review = { label: value, reviewer, note: note.value };
    status.textContent = reviewStatus(item.review);
    box.className = "review-item labelled " + value;
  };
  const buttons = ["grounded", "hallucinated", "unsure"].map((value) =>
    el("button", { type: "button", "data-label": value, onclick: () => { showError(null); label(value).catch(showError); } }, value));
  box.append(
    el("div", { class: "review-head" }, el("b", {}, `#${item.id}`), ` ${item.model || "(no model)"} · ${fmtTime(item.time)} · `,
      el("code", {}, item.trace_id.slice(0, 12) + "…"), " · ", status),
    el("div", { class: "review-cols" },
      el("div", {}, el("h4", {}, "Question"), el("pre", { class: "question" }, item.question || "–")),
      el("div", { class: "sources" }, el("h4", {}, `Sources (${item.sources.length})`), ...item.sources.map(sourceBlock)),
      el("div", {}, el("h4", {}, "Answer"), el("pre", { class: "answer" }, item.answer || "–"))),
    el("div", { class: "review-actions" }, note, ...buttons));
  return box;
}

function reviewStrata(data) {
  const margin = (v) => (v === null || v === undefined ? "–" : "±" + (v * 100).toFixed(1) + " pts");
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ...["Model", "Period", "Generations", "Sample", "Labelled", "Margin when labelled", "Margin so far"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...data.strata.map((s) => el("tr", {}, el("td", {}, s.model || "–"), el("td", {}, s.period_start ? s.period_start.slice(0, 10) : "all"),
      el("td", {}, String(s.population)), el("td", {}, String(s.sample_size)), el("td", {}, String(s.labelled)),
      el("td", {}, margin(s.margin_when_labelled)), el("td", {}, margin(s.margin_so_far))))));
}

async function loadReview(more) {
  const params = { ...reviewParams(), limit: 50 };
  if (more && reviewNext !== null) params.offset = reviewNext;
  const data = await getJSON("/api/v1/review/sample", params);
  reviewNext = data.next_offset;
  const d = data.design;
  const size = d.per_stratum ? `${d.per_stratum} per stratum` : `±${(d.margin * 100).toFixed(1)} pts at ${(d.confidence * 100).toFixed(0)}% per stratum`;
  $("#review-summary").replaceChildren(
    el("p", { class: "muted" }, `Seed ${d.seed}, ${size}, ${data.total} items in ${data.strata.length} strata, ${data.labelled} labelled. The same seed and dates give the same sample. Labels: grounded and hallucinated count in rates; unsure does not.`),
    reviewStrata(data));
  const items = data.items.map(reviewItem);
  if (more) $("#review-items").append(...items); else $("#review-items").replaceChildren(...items);
  if (!data.items.length && !more) $("#review-items").append(el("p", { class: "muted" }, "No generations to review in this range."));
  $("#review-more").hidden = reviewNext === null;
}

loaders.review = () => loadReview(false);

document.addEventListener("DOMContentLoaded", () => {
  const today = new Date();
  $("#review-form [name=to]").value = today.toISOString().slice(0, 10);
  $("#review-form [name=from]").value = new Date(today.getTime() - 7 * 86400000).toISOString().slice(0, 10);
  $("#review-form [name=reviewer]").value = localStorage.getItem(REVIEWER_STORE) || "";
  $("#review-form").addEventListener("submit", (e) => { e.preventDefault(); showError(null); loadReview(false).catch(showError); });
  $("#review-more").addEventListener("click", () => loadReview(true).catch(showError));
});
// --- end human review queue ------------------------------------------------------------------

// --- trace explorer: waterfall, span detail, #trace/<id>[/<span>] routes (issue 20) ----------
let explorer = null; // { data: the trace as /api/v1/traces returns it, scores: its scores }

function explorerRows(nodes, depth, out) {
  for (const s of nodes) { out.push({ span: s, depth }); explorerRows(s.children || [], depth + 1, out); }
  return out;
}

function spanActions(span) {
  const prefix = CFG.guardrailPrefix + " ";
  return span.events.filter((e) => e.name.startsWith(prefix)).map((e) => e.attributes[CFG.attr.action] || e.attributes[CFG.attr.verdict] || "");
}

async function traceExplorer(data, spanId) {
  let scores = [];
  try { scores = (await getJSON("/api/v1/scores", { trace_id: data.trace_id })).scores; } catch (err) { scores = []; }
  explorer = { data, scores };
  const rows = explorerRows(data.tree, 0, []);
  const t0 = Math.min(...rows.map((r) => r.span.start_time_unix_nano));
  const t1 = Math.max(...rows.map((r) => r.span.start_time_unix_nano + r.span.duration_ms * 1e6));
  const total = Math.max(t1 - t0, 1);
  const waterfall = el("div", { class: "waterfall", id: "waterfall", "data-total-ms": (total / 1e6).toFixed(3) },
    el("div", { class: "wf-row wf-axis" }, el("div", { class: "wf-label" }, "Span"),
      el("div", { class: "wf-track" }, el("span", {}, "0 ms"), el("span", { class: "wf-end" }, (total / 1e6).toFixed(1) + " ms")),
      el("div", { class: "wf-ms" }, "start · duration")),
    ...rows.map(({ span, depth }) => {
      const offset = (span.start_time_unix_nano - t0) / 1e6;
      const left = ((span.start_time_unix_nano - t0) / total) * 100;
      const width = Math.max(((span.duration_ms * 1e6) / total) * 100, 0.4);
      const worst = ["block", "redact", "flag"].find((a) => spanActions(span).includes(a)) || "";
      return el("div", {
        class: "wf-row" + (span.status_code === "ERROR" ? " error" : ""), "data-span": span.span_id, "data-role": spanRole(span), "data-depth": depth,
        "data-offset-ms": offset.toFixed(3), "data-duration-ms": span.duration_ms.toFixed(3),
        onclick: () => { location.hash = `#trace/${data.trace_id}/${span.span_id}`; },
      },
      el("div", { class: "wf-label", style: `padding-left:${depth * 14 + 4}px` }, ...roleLabel(span), " ",
        worst ? el("span", { class: "decision " + worst }, worst) : null),
      el("div", { class: "wf-track" }, el("div", { class: "wf-bar " + (spanRole(span) || "other"), style: `left:${left.toFixed(3)}%;width:${width.toFixed(3)}%`, title: `+${offset.toFixed(1)} ms, ${span.duration_ms.toFixed(1)} ms` })),
      el("div", { class: "wf-ms" }, `+${offset.toFixed(1)} · ${span.duration_ms.toFixed(1)} ms`));
    }));
  $("#trace-waterfall").replaceChildren(waterfall);
  const first = rows.find((r) => r.span.observation_kind === "generation") || rows[0];
  selectSpan(spanId || first.span.span_id);
}

function kvTable(cls, rows) {
  const shown = rows.filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!shown.length) return el("p", { class: "muted" }, "none");
  return el("table", { class: "kv " + cls }, el("tbody", {}, ...shown.map(([k, v]) => el("tr", { "data-key": k }, el("th", {}, k), el("td", {}, v)))));
}

function textBlock(cls, text) {
  if (text === null || text === undefined || text === "") return el("p", { class: "muted" }, "not recorded");
  let shown = String(text);
  try { shown = JSON.stringify(JSON.parse(shown), null, 2); } catch (err) { /* plain text */ }
  return el("pre", { class: "msg " + cls }, shown);
}

function detailSection(id, title, ...body) {
  return el("section", { class: "detail-section", id }, el("h3", {}, title), ...body);
}

function guardrailTable(span) {
  const prefix = CFG.guardrailPrefix + " ";
  const rows = span.events.filter((e) => e.name.startsWith(prefix)).map((e) => {
    const a = e.attributes;
    let entities = a[CFG.attr.entityTypes] || "";
    try { entities = JSON.parse(entities || "[]").join(", "); } catch (err) { /* as stored */ }
    const action = a[CFG.attr.action] || a[CFG.attr.verdict] || "";
    return el("tr", { class: "guard-row" }, el("td", {}, a[CFG.attr.check] || e.name.slice(prefix.length)), el("td", {}, a[CFG.attr.target] || ""),
      el("td", {}, el("span", { class: "decision " + action }, action)), el("td", { class: "guard-entities" }, entities),
      el("td", {}, el("code", {}, a[CFG.attr.policyVersion] || "")), el("td", {}, a[CFG.attr.reason] || ""));
  });
  if (!rows.length) return el("p", { class: "muted" }, "no guardrail ran on this span");
  return el("table", { class: "grid", id: "guard-table" }, el("thead", {}, el("tr", {}, ...["Check", "Target", "Action", "Entity types", "Policy version", "Reason"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}

function provenanceBlock(span) {
  const a = span.attributes;
  let record = null;
  try { record = a[CFG.attr.record] ? JSON.parse(a[CFG.attr.record]) : null; } catch (err) { record = null; }
  let sources = record && Array.isArray(record.sources) ? record.sources : [];
  let retrieved = false;
  if (!sources.length && span.observation_kind === "retrieval") {
    try { const out = JSON.parse(span.output || "[]"); if (Array.isArray(out)) { sources = out.filter((d) => d && typeof d === "object"); retrieved = true; } } catch (err) { sources = []; }
  }
  const template = record && record.prompt_template ? record.prompt_template : null;
  const head = kvTable("prov-kv", [
    ["prompt template", template ? `${template.template_id} v${template.version}` : (a[CFG.attr.templateId] ? `${a[CFG.attr.templateId]} v${a[CFG.attr.templateVersion] || "?"}` : "")],
    ["prompt sha256", a[CFG.attr.promptSha] || ""], ["answer sha256", a[CFG.attr.answerSha] || ""],
  ]);
  const list = sources.length
    ? el("table", { class: "grid", id: "source-table" }, el("thead", {}, el("tr", {}, ...["Id", "Title / URI", "SHA-256", "Score"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...sources.map((s) => el("tr", { class: "source-row" }, el("td", {}, s.id || ""), el("td", {}, s.title || s.uri || ""),
        el("td", {}, el("code", {}, s.sha256 || (retrieved ? "(text stored in the span output)" : ""))), el("td", {}, s.score !== undefined && s.score !== null ? String(s.score) : "")))))
    : el("p", { class: "muted" }, "no sources recorded on this span");
  return [head, list];
}

function scoreTable(span) {
  const mine = (explorer.scores || []).filter((s) => s.span_id === span.span_id);
  if (!mine.length) return el("p", { class: "muted" }, "no scores");
  return el("table", { class: "grid", id: "score-table" }, el("thead", {}, el("tr", {}, ...["Name", "Value", "Label", "Source", "Evaluator", "Reviewer"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...mine.map((s) => el("tr", { class: "score-row" }, el("td", {}, s.name), el("td", {}, s.value === null ? "" : String(s.value)), el("td", {}, s.label || ""),
      el("td", {}, s.source), el("td", {}, s.evaluator ? `${s.evaluator} ${s.evaluator_version || ""}` : ""), el("td", {}, s.reviewer || "")))));
}

function selectSpan(spanId) {
  const span = explorer && explorer.data.spans.find((s) => s.span_id === spanId);
  if (!span) { showError(new Error(`span ${spanId} is not in this trace`)); return; }
  for (const row of document.querySelectorAll("#waterfall .wf-row")) row.classList.toggle("selected", row.dataset.span === spanId);
  const a = span.attributes || {};
  const prefix = CFG.attr.requestPrefix;
  const params = Object.entries(a).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]);
  const link = `#trace/${explorer.data.trace_id}/${span.span_id}`;
  const num = (v) => (v === null || v === undefined ? "" : String(v));
  const panel = $("#span-detail");
  panel.replaceChildren(
    el("h3", { id: "span-title" }, span.name, " ", el("a", { href: link, class: "span-link" }, "link")),
    el("p", { class: "span-role" }, roleBadge(span), " ", el("b", {}, spanRole(span) ? roleName(span, spanRole(span)) : "")),
    kvTable("span-kv", [
      ["kind", span.observation_kind || span.kind], ["operation", span.operation], ["service", span.service_name], ["status", span.status_code + (span.status_message ? " · " + span.status_message : "")],
      ["provider", span.provider], ["request model", span.request_model], ["response model", span.response_model],
      ["user", span.user_id], ["session", span.session_id], ["span id", span.span_id],
    ]),
    agentToolSection(span),
    detailSection("detail-params", "Request parameters", kvTable("params-kv", params)),
    detailSection("detail-usage", "Usage", kvTable("usage-kv", [
      ["input tokens", num(span.input_tokens)], ["cached input tokens", num(span.cached_input_tokens)],
      ["output tokens", num(span.output_tokens)], ["reasoning tokens", num(span.reasoning_tokens)],
      ["cost (USD)", span.cost_usd === null || span.cost_usd === undefined ? "" : span.cost_usd.toFixed(8)],
      ["latency (ms)", span.duration_ms.toFixed(1)], ["time to first token (ms)", num(a[CFG.attr.ttft])],
    ])),
    detailSection("detail-input", "Input (as stored)", textBlock("input", span.input)),
    detailSection("detail-output", "Output (as stored)", textBlock("output", span.output)),
    detailSection("detail-guardrails", "Guardrail decisions", guardrailTable(span)),
    detailSection("detail-provenance", "Provenance", ...provenanceBlock(span)),
    detailSection("detail-scores", "Scores", scoreTable(span)),
    detailSection("detail-events", "Events", span.events.length
      ? el("ul", { class: "events" }, ...span.events.map((e) => el("li", {}, el("b", {}, e.name), " ", fmtTime(e.time), textBlock("event", JSON.stringify(e.attributes)))))
      : el("p", { class: "muted" }, "no events")),
    detailSection("detail-attributes", "Attributes", textBlock("attributes", JSON.stringify(a))));
  panel.hidden = false;
}

function routeFromHash() {
  const m = /^#trace\/([0-9a-f]{32})(?:\/([0-9a-f]{16}))?$/.exec(location.hash);
  if (!m) return;
  showTab("traces");
  if (explorer && explorer.data.trace_id === m[1]) { if (m[2]) selectSpan(m[2]); return; }
  openTrace(m[1], m[2]).catch(showError);
}

window.addEventListener("hashchange", routeFromHash);
document.addEventListener("DOMContentLoaded", routeFromHash);
// --- end trace explorer ----------------------------------------------------------------------

// --- sessions and users: GET /api/v1/sessions[/{id}], /api/v1/users; #session/<id> (issue 20) -
const usd = (v) => v.toFixed(8);
const actionText = (actions) => Object.entries(actions || {}).map(([k, v]) => `${k} ${v}`).join(", ");

function lastUserText(input) {
  // The turn's question: the last user message of the generation's input as stored (redacted).
  try {
    const messages = JSON.parse(input || "[]");
    const users = messages.filter((m) => m.role === "user");
    const last = users[users.length - 1];
    if (!last) return "";
    if (typeof last.content === "string") return last.content;
    return (last.parts || []).map((p) => p.content || "").join(" ");
  } catch (err) { return ""; }
}

async function loadSessions() {
  const range = rangeParams();
  const user = new FormData($("#session-filters")).get("user").trim();
  const data = await getJSON("/api/v1/sessions", { from: range.from, to: range.to, user, limit: 200 });
  const body = $("#session-results tbody");
  body.replaceChildren(...data.sessions.map((s) => el("tr", { "data-session": s.session_id, onclick: () => { location.hash = "#session/" + encodeURIComponent(s.session_id); } },
    el("td", {}, el("code", {}, s.session_id)), el("td", {}, s.users.join(", ")), el("td", { class: "num turns" }, String(s.turns)),
    el("td", { class: "num" }, String(s.input_tokens)), el("td", { class: "num" }, String(s.output_tokens)), el("td", { class: "num cost" }, usd(s.cost_usd)),
    el("td", {}, fmtTime(new Date(s.last_time_unix_nano / 1e6).toISOString())))));
  if (!data.sessions.length) body.append(el("tr", {}, el("td", { colspan: 7 }, "No sessions: spans carry none (tracerail.session(id) sets it).")));
}

async function openSession(sessionId) {
  const data = await getJSON("/api/v1/sessions/" + encodeURIComponent(sessionId));
  $("#session-id").textContent = data.session_id;
  const t = data.totals;
  $("#session-totals").textContent = `${t.turns} turns · ${data.users.join(", ")} · ${t.input_tokens} + ${t.output_tokens} tokens · $${usd(t.cost_usd)} · ${t.hallucinated} hallucinated`;
  $("#session-turns tbody").replaceChildren(...data.turns.map((turn) => el("tr", { "data-trace": turn.trace_id, onclick: () => { location.hash = "#trace/" + turn.trace_id; } },
    el("td", { class: "num" }, String(turn.turn)), el("td", {}, fmtTime(new Date(turn.start_time_unix_nano / 1e6).toISOString())),
    el("td", {}, turn.user_id || ""), el("td", {}, turn.model || ""), el("td", { class: "question" }, lastUserText(turn.input).slice(0, 120)),
    el("td", { class: "num in-tokens" }, String(turn.input_tokens)), el("td", { class: "num out-tokens" }, String(turn.output_tokens)),
    el("td", { class: "num cost" }, usd(turn.cost_usd)), el("td", { class: "num latency" }, turn.latency_ms.toFixed(1)),
    el("td", { class: "actions" }, ...Object.keys(turn.guardrail_actions).map((a) => el("span", { class: "decision " + a }, `${a} ${turn.guardrail_actions[a]}`))),
    el("td", { class: "hallucination" }, turn.hallucinated === null ? "not scored" : (turn.hallucinated ? "hallucinated" : "grounded") + ` (${turn.hallucination_by})`))));
  $("#session-view").hidden = false;
}

async function loadUsers() {
  const range = rangeParams();
  const data = await getJSON("/api/v1/users", { from: range.from, to: range.to, limit: 200 });
  const body = $("#user-results tbody");
  body.replaceChildren(...data.users.map((u) => el("tr", { "data-user": u.user_id, onclick: () => { $("#session-filters [name=user]").value = u.user_id; location.hash = "#sessions"; showTab("sessions"); refresh(); } },
    el("td", {}, u.user_id), el("td", { class: "num sessions" }, String(u.sessions)), el("td", { class: "num turns" }, String(u.turns)),
    el("td", { class: "num" }, String(u.generations)), el("td", { class: "num in-tokens" }, String(u.input_tokens)), el("td", { class: "num" }, String(u.output_tokens)),
    el("td", { class: "num cost" }, usd(u.cost_usd)), el("td", { class: "actions" }, actionText(u.guardrail_actions)))));
  if (!data.users.length) body.append(el("tr", {}, el("td", { colspan: 8 }, "No users: spans carry none (tracerail.user(id) sets it).")));
}

loaders.sessions = loadSessions;
loaders.users = loadUsers;

function routeSession() {
  const m = /^#session\/(.+)$/.exec(location.hash);
  if (!m) return;
  showTab("sessions");
  loadSessions().catch(showError);
  openSession(decodeURIComponent(m[1])).catch(showError);
}

window.addEventListener("hashchange", routeSession);
document.addEventListener("DOMContentLoaded", () => {
  $("#session-filters").addEventListener("submit", (e) => { e.preventDefault(); showError(null); loadSessions().catch(showError); });
  routeSession();
});
// --- end sessions and users ------------------------------------------------------------------

// --- overview filters: service, model, user, session; #overview?service=… (issue 20) ---------
// Every overview figure (cards, charts, hallucination by model) is read with the same filter.
const OVERVIEW_FILTERS = ["service", "model", "user", "session"];

function overviewFilters() {
  const form = new FormData($("#overview-filters"));
  const out = {};
  for (const name of OVERVIEW_FILTERS) {
    const value = String(form.get(name) || "").trim();
    if (value) out[name] = value;
  }
  return out;
}

function chooseOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
  select.value = value;
}

async function fillOverviewChoices(range) {
  // The services and models with generations in the range; a chosen one stays even if absent.
  const dims = await getJSON("/api/v1/metrics/dimensions", { from: range.from, to: range.to });
  for (const [name, values] of [["service", dims.services], ["model", dims.models]]) {
    const select = $(`#overview-filters [name=${name}]`);
    const chosen = select.value;
    select.replaceChildren(select.options[0], ...values.map((v) => el("option", { value: v }, v)));
    chooseOption(select, chosen);
  }
}

function showOverviewNote(filters) {
  const set = Object.entries(filters || {}).filter(([, v]) => v);
  const note = $("#overview-filter-note");
  note.hidden = !set.length;
  note.textContent = set.length
    ? "Filtered: " + set.map(([k, v]) => `${k} ${v}`).join(" · ")
      + (filters.user || filters.session ? " (user and session figures are computed from the spans)" : "")
    : "";
}

function overviewHash() {
  const query = new URLSearchParams(overviewFilters()).toString();
  return "#overview" + (query ? "?" + query : "");
}

function applyOverviewHash() {
  // #overview?service=…&model=…&user=…&session=… → the form (true when the hash is an overview one).
  if (!/^#overview(\?|$)/.test(location.hash)) return false;
  const params = new URLSearchParams(location.hash.slice("#overview".length + 1));
  const form = $("#overview-filters");
  for (const name of OVERVIEW_FILTERS) {
    const field = form.elements[name];
    if (field.tagName === "SELECT") chooseOption(field, params.get(name) || ""); else field.value = params.get(name) || "";
  }
  return true;
}

function reloadOverview() {
  showTab("overview");
  refresh();
  loadCorrectedRates().catch(showError);
}

applyOverviewHash(); // deferred script: the form exists; the first load reads it
window.addEventListener("hashchange", () => { if (applyOverviewHash()) reloadOverview(); });
document.addEventListener("DOMContentLoaded", () => {
  const go = () => { if (location.hash === overviewHash()) reloadOverview(); else location.hash = overviewHash(); };
  $("#overview-filters").addEventListener("submit", (e) => { e.preventDefault(); go(); });
  $("#overview-clear").addEventListener("click", () => { $("#overview-filters").reset(); go(); });
});
// --- end overview filters ----------------------------------------------------------------------

// --- agent → tool → generation: each span's role and name in the trace view (issue 20) --------
// The role is the stored observation_kind, else the gen_ai.operation.name it implies; agents and
// tools are named by gen_ai.agent.name / gen_ai.tool.name (else their span name's tail).
const ROLE_ICONS = { agent: "◆", tool: "⚙", generation: "✦", retrieval: "⌕" };

function spanRole(span) {
  if (ROLE_ICONS[span.observation_kind]) return span.observation_kind;
  for (const [role, operations] of Object.entries(CFG.roleOperations)) if (operations.includes(span.operation)) return role;
  return "";
}

function roleName(span, role) {
  const a = span.attributes || {};
  const tail = span.name.includes(" ") ? span.name.slice(span.name.indexOf(" ") + 1) : span.name;
  if (role === "agent") return a[CFG.attr.agentName] || tail;
  if (role === "tool") return a[CFG.attr.toolName] || tail;
  if (role === "generation") return span.response_model || span.request_model || span.name;
  return span.name;
}

function roleBadge(span) {
  const role = spanRole(span);
  return role ? el("span", { class: "role role-" + role, "data-role": role, title: role }, `${ROLE_ICONS[role]} ${role}`) : null;
}

function roleLabel(span) {
  const role = spanRole(span);
  if (!role) return [el("b", {}, span.name), " ", el("span", { class: "meta" }, span.observation_kind || span.kind)];
  return [roleBadge(span), " ", el("b", { class: "role-name" }, roleName(span, role)), " ", el("span", { class: "meta" }, span.name)];
}

function agentToolSection(span) {
  const a = span.attributes || {};
  const rows = Object.entries(a).filter(([k]) => k.startsWith(CFG.attr.agentPrefix) || k.startsWith(CFG.attr.toolPrefix)).sort();
  if (!rows.length && !["agent", "tool"].includes(spanRole(span))) return document.createDocumentFragment();
  return detailSection("detail-agent-tool", "Agent and tool", kvTable("agent-kv", rows));
}
// --- end agent → tool → generation ---------------------------------------------------------------

document.addEventListener("DOMContentLoaded", init);
