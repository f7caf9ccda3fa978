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
