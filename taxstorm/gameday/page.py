"""The Chaos page: plain HTML and a little vanilla JavaScript (no CDN, no build step: it works offline)."""

from __future__ import annotations

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 16px; background: #1b2430;
         color: #fff; position: sticky; top: 0; z-index: 5; }
header h1 { font-size: 18px; margin: 0 8px 0 0; }
header a { color: #9fd0ff; }
#clock { font-variant-numeric: tabular-nums; }
#status.running { color: #8be28b; } #status.halted { color: #ff8a80; font-weight: 700; }
button { cursor: pointer; }
button.danger { background: #c62828; color: #fff; border: 0; border-radius: 6px; padding: 8px 16px; font-weight: 700; }
button.danger:disabled { background: #9e9e9e; }
#halted { background: #c62828; color: #fff; padding: 10px 16px; font-weight: 700; }
#message { min-height: 1.4em; padding: 4px 16px; color: #b71c1c; }
main { display: grid; grid-template-columns: minmax(320px, 1fr) minmax(320px, 1fr); gap: 16px; padding: 0 16px 16px; }
section { background: #fff; border-radius: 8px; padding: 8px 16px 16px; box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
main { align-items: start; }
.side { display: flex; flex-direction: column; gap: 16px; }
details { margin: 6px 0; } summary { font-weight: 700; cursor: pointer; text-transform: capitalize; }
form.fault { border: 1px solid #dde1e6; border-radius: 6px; padding: 8px; margin: 8px 0; }
form.fault h3 { margin: 0; font-size: 15px; font-family: monospace; }
form.fault p.summary { margin: 2px 0 6px; color: #555; }
form.fault label { display: grid; grid-template-columns: 160px 1fr; gap: 6px; align-items: center; margin: 3px 0; }
form.fault small { grid-column: 2; color: #666; }
form.fault .error { color: #b71c1c; margin: 4px 0 0; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
td.left { font-variant-numeric: tabular-nums; font-weight: 700; }
#note-text { width: 100%; min-height: 60px; box-sizing: border-box; }
ol#timeline, ul#notes { padding-left: 20px; font-variant-numeric: tabular-nums; }
"""

SCRIPT = r"""
"use strict";
const API = "/chaos/api/";
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function call(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(API + path, options);
  let data = {};
  try { data = await response.json(); } catch (error) { data = {error: "HTTP " + response.status}; }
  if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
  return data;
}

function show(message) { $("#message").textContent = message || ""; }
function seconds(value) { return value === null || value === undefined ? "" : value.toFixed(1) + " s"; }
function paramsText(params) {
  return Object.entries(params || {}).filter(([key, value]) => key !== "type" && value !== null)
    .map(([key, value]) => key + "=" + (typeof value === "object" ? JSON.stringify(value) : value)).join(" ");
}

function input(param) {
  const common = {name: param.name, "data-kind": param.kind, id: "param-" + param.name};
  if (param.kind === "boolean") {
    return el("input", {...common, type: "checkbox", checked: param.default === true});
  }
  if (param.kind === "choice" || param.kind === "choices") {
    const select = el("select", {...common, multiple: param.kind === "choices"});
    if (param.kind === "choice" && (param.default === null || param.nullable)) {
      select.append(el("option", {value: ""}, param.required ? "— choose —" : "(default)"));
    }
    for (const choice of param.choices) {
      const chosen = param.kind === "choice" ? choice === param.default
        : Array.isArray(param.default) && param.default.includes(choice);
      select.append(el("option", {value: JSON.stringify(choice), selected: chosen}, choice));
    }
    return select;
  }
  if (param.kind === "json") {
    const value = param.default === null ? "" : JSON.stringify(param.default);
    const area = el("textarea", {...common, rows: 2, placeholder: "JSON"});
    area.value = value;
    return area;
  }
  const numeric = param.kind === "integer" || param.kind === "number";
  const value = param.default === null ? "" : (Array.isArray(param.default) ? param.default.join(",") : param.default);
  return el("input", {...common, type: numeric ? "number" : "text", value: value,
    step: param.kind === "integer" ? 1 : (numeric ? "any" : null), min: numeric ? param.minimum : null,
    max: numeric ? param.maximum : null, placeholder: param.kind === "list" ? "comma-separated" : null});
}

function readParams(form, fault) {
  const params = {};
  for (const param of fault.params) {
    const field = form.elements.namedItem(param.name);
    if (param.kind === "boolean") { params[param.name] = field.checked; continue; }
    if (param.kind === "choices") {
      const picked = Array.from(field.selectedOptions).map((option) => JSON.parse(option.value));
      if (picked.length) params[param.name] = picked;
      continue;
    }
    const raw = field.value.trim();
    if (raw === "") continue;  // omitted: the fault's default applies (the server names a missing required field)
    if (param.kind === "choice") params[param.name] = JSON.parse(raw);
    else if (param.kind === "integer" || param.kind === "number") params[param.name] = Number(raw);
    else if (param.kind === "list") params[param.name] = raw.split(",").map((item) => item.trim()).filter(Boolean);
    else if (param.kind === "json") {
      try { params[param.name] = JSON.parse(raw); } catch (error) {
        throw new Error("params." + param.name + ": not valid JSON (" + error.message + "); fix the text");
      }
    } else params[param.name] = raw;
  }
  return params;
}

function faultForm(fault) {
  const error = el("p", {class: "error", "data-error-for": fault.type});
  const unavailable = fault.unavailable ? "true" : "false";
  const form = el("form", {class: "fault", "data-fault": fault.type, "data-unavailable": unavailable, novalidate: true},
    el("h3", {}, fault.type), el("p", {class: "summary"}, fault.summary));
  for (const param of fault.params) {
    form.append(el("label", {}, param.name + (param.required ? " *" : ""), input(param),
      el("small", {}, [param.description, param.constraint].filter(Boolean).join(" · "))));
  }
  form.append(el("label", {}, "for_s", el("input", {name: "for_s", "data-kind": "for_s", type: "number", min: 0,
    step: "any", placeholder: "until reverted"}), el("small", {}, "seconds; empty = until reverted or halted")));
  form.append(el("button", {type: "submit", "data-apply": fault.type, disabled: Boolean(fault.unavailable)},
    "Apply " + fault.type), error);
  if (fault.unavailable) error.textContent = "not in this run: " + fault.unavailable;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const forS = form.elements.namedItem("for_s").value.trim();
      const body = {type: fault.type, params: readParams(form, fault), for_s: forS === "" ? null : Number(forS)};
      const answer = await call("apply", body);
      show("applied " + answer.applied.label);
      await refresh();
    } catch (failure) {
      error.textContent = failure.message;
      show(failure.message);
    }
  });
  return form;
}

async function loadCatalogue() {
  const {faults} = await call("faults");
  const families = {};
  for (const fault of faults) (families[fault.family] = families[fault.family] || []).push(fault);
  const order = ["network", "platform", "process", "container"];
  const rank = (family) => (order.includes(family) ? order.indexOf(family) : order.length);
  const names = Object.keys(families).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const family of names) {
    const details = el("details", {"data-family": family, open: family === "network"}, el("summary", {}, family));
    for (const fault of families[family]) details.append(faultForm(fault));
    $("#catalogue").append(details);
  }
}

function renderActive(active) {
  const body = $("#active-faults tbody");
  const seen = new Set();
  for (const fault of active) {
    seen.add(fault.label);
    let row = body.querySelector(`tr[data-label="${CSS.escape(fault.label)}"]`);
    if (!row) {
      const revert = el("button", {type: "button", "data-revert": fault.label}, "Revert");
      revert.addEventListener("click", async () => {
        revert.disabled = true;
        try { await call("revert", {label: fault.label}); show("reverted " + fault.label); } catch (failure) {
          show(failure.message); revert.disabled = false;
        }
        await refresh();
      });
      row = el("tr", {"data-label": fault.label}, el("td", {}, fault.label), el("td", {}, fault.type),
        el("td", {}, paramsText(fault.params)), el("td", {}, seconds(fault.applied_s)),
        el("td", {class: "left"}), el("td", {}, revert));
      body.append(row);
    }
    const left = fault.error || (fault.left_s === null ? "until reverted" : Math.ceil(fault.left_s) + " s");
    row.querySelector("td.left").textContent = left;
  }
  for (const row of Array.from(body.querySelectorAll("tr[data-label]"))) {
    if (!seen.has(row.dataset.label)) row.remove();
  }
  $("#no-active").hidden = active.length > 0;
}

let lastHistory = "";
let finished = false;  // after Finish the harness stops serving: stop polling it
function renderHistory(state) {
  const key = JSON.stringify([state.events, state.notes]);
  if (key === lastHistory) return;
  lastHistory = key;
  const entries = [];
  for (const event of state.events) {
    const what = event.label + " (" + event.type + " " + paramsText(event.params) + ")";
    if (event.applied_s === null) entries.push([event.planned_apply_s, "not applied: " + what + ": " + event.error]);
    else entries.push([event.applied_s, "applied " + what]);
    if (event.reverted_s !== null) entries.push([event.reverted_s, "reverted " + event.label]);
  }
  for (const note of state.notes) entries.push([note.at_s, "note: " + note.text]);
  entries.sort((a, b) => a[0] - b[0]);
  $("#timeline").replaceChildren(...entries.map(([at, text]) => el("li", {"data-at": at}, seconds(at) + "  " + text)));
  $("#notes").replaceChildren(...state.notes.map((note) => el("li", {"data-at": note.at_s},
    seconds(note.at_s) + "  " + note.text)));
}

function renderHalted(state) {
  const halted = state.halted !== null;
  $("#status").textContent = halted ? "HALTED" : "running";
  $("#status").className = halted ? "halted" : "running";
  $("#halted").hidden = !halted;
  $("#halted").textContent = halted ? "Halted at " + seconds(state.halted_s) + ": " + state.halted : "";
  $("#halt").disabled = halted;
  for (const form of document.querySelectorAll("form[data-fault]")) {
    form.querySelector("button[data-apply]").disabled = halted || form.dataset.unavailable === "true";
  }
}

async function refresh() {
  if (finished) return;
  try {
    const state = await call("state");
    $("#clock").textContent = "t = " + seconds(state.now_s);
    renderActive(state.active);
    renderHistory(state);
    renderHalted(state);
    if (state.errors.length) show(state.errors.join("; "));
  } catch (failure) {
    show("cannot reach the harness: " + failure.message);
  }
}

$("#halt").addEventListener("click", async () => {
  if (!window.confirm("Halt the run: revert every fault and stop the load?")) return;
  try {
    const answer = await call("halt", {reason: $("#halt-reason").value});
    show(answer.errors.length ? "halted, but: " + answer.errors.join("; ") : "halted: " + answer.halted);
  } catch (failure) { show(failure.message); }
  await refresh();
});

$("#finish").addEventListener("click", async () => {
  if (!window.confirm("Finish the game day: revert every fault, drain, judge and write the report?")) return;
  try {
    const answer = await call("finish", {});
    finished = true;
    show("finishing: the report goes to " + answer.report_dir);
  } catch (failure) { show(failure.message); }
});

$("#add-note").addEventListener("click", async () => {
  try {
    await call("note", {text: $("#note-text").value});
    $("#note-text").value = "";
    show("note added");
  } catch (failure) { show(failure.message); }
  await refresh();
});

loadCatalogue().then(refresh, (failure) => show("cannot load the faults: " + failure.message));
setInterval(refresh, 1000);
"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chaos · taxstorm game day</title>
<style>{STYLE}</style>
</head>
<body>
<header>
  <h1>Chaos</h1>
  <span id="clock">t = …</span>
  <span id="status" class="running">…</span>
  <a id="locust-link" href="/">← Locust</a>
  <a id="export" href="/chaos/api/export" download="gameday-scenario.yaml">Export as scenario</a>
  <span style="flex: 1"></span>
  <input id="halt-reason" placeholder="why halt? (goes into the timeline)" size="30">
  <button id="halt" class="danger" type="button">HALT: revert all faults, stop the load</button>
  <button id="finish" type="button">Finish: drain, judge, report</button>
</header>
<div id="halted" hidden></div>
<div id="message" role="status"></div>
<main>
  <section id="catalogue-section"><h2>Faults</h2><div id="catalogue"></div></section>
  <div class="side">
  <section>
    <h2>Active faults</h2>
    <table id="active-faults">
      <thead><tr><th>label</th><th>type</th><th>parameters</th><th>applied</th><th>left</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-active">No fault is applied.</p>
  </section>
  <section>
    <h2>Operator notes</h2>
    <textarea id="note-text" placeholder="what you see, what you decided (timestamped on the run's clock)"></textarea>
    <button id="add-note" type="button">Add note</button>
    <ul id="notes"></ul>
  </section>
  <section><h2>Timeline</h2><ol id="timeline"></ol></section>
  </div>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
