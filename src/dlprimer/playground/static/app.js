// dlprimer playground: the page's controls, and the rendering of each snapshot.
"use strict";
(function () {
const DP = window.DP;
const $ = (id) => document.getElementById(id);
let state = null, pictures = null, frame = null, selected = null, explained = null;
let applyingHash = false;

// ---------------------------------------------------------------- small helpers
const escapeHTML = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// The primer's text notation as HTML: ^{…} and _{…} (and W[ℓ]) as super- and subscripts.
// Quoted names “…” are only escaped. The same rules as the library's HTML view.
const RULES = [
  [/\^\{([^{}]*)\}/g, "<sup>$1</sup>"], [/\^(\w)/g, "<sup>$1</sup>"],
  [/_\{([^{}]*)\}/g, "<sub>$1</sub>"], [/_([A-Za-z]+)/g, "<sub>$1</sub>"],
  [/(?<=[A-Za-z\u0302\u0303])\[(\d+|ℓ|ℓ-1|L)\]/g, "<sup>[$1]</sup>"],
];
DP.mathHTML = function (text) {
  return text.split(/(“[^”]*”)/).map((part, i) => {
    let s = escapeHTML(part);
    if (i % 2 === 0) for (const [re, to] of RULES) s = s.replace(re, to);
    return s;
  }).join("");
};
const number = (v, digits = 4) => {
  if (v === null || v === undefined) return "–";
  const x = Number(v);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(digits - 2);
  return String(Number(x.toPrecision(digits)));
};
const percent = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");

function showBanner(text, kind) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
  b.className = "banner" + (kind === "notice" ? " notice" : "");
}

async function act(promise) {
  try {
    const answer = await promise;
    if (answer && answer.settings) render(answer);
    return answer;
  } catch (err) {
    showBanner(err.message);
    return null;
  }
}

// ---------------------------------------------------------------- controls
function fillSelect(select, options, value) {
  const key = JSON.stringify(options);
  if (select.dataset.options !== key) {
    select.replaceChildren(...options.map(([v, text, group]) => {
      const o = document.createElement("option");
      o.value = v; o.textContent = text; if (group) o.dataset.group = group;
      return o;
    }));
    select.dataset.options = key;
  }
  if (value !== undefined && document.activeElement !== select) select.value = value;
}

function datasetOptions(choices, data) {
  const select = $("dataset");
  if (!select.dataset.built) {
    const group = (label, entries) => {
      const g = document.createElement("optgroup");
      g.label = label;
      for (const [value, text] of entries) {
        const o = document.createElement("option");
        o.value = value; o.textContent = text; g.append(o);
      }
      return g;
    };
    select.append(
      group("TF Playground's 2-D toys", Object.entries(choices.toys).map(([k, v]) => ["toy:" + k, `${k} (${v.task})`])),
      group("bundled data sets", Object.entries(choices.bundled).map(([k, v]) => ["set:" + k, `${k} (${v.n} × ${v.p}, ${v.task})`])),
      group("your file", [["csv:", "a CSV file (upload below)"]]));
    select.dataset.built = "1";
  }
  const value = data.kind === "toy" ? "toy:" + data.spec.toy : data.kind === "bundled" ? "set:" + data.spec.dataset : "csv:";
  if (document.activeElement !== select) select.value = value;
}

function renderSettings(s) {
  const c = state.choices;
  fillSelect($("model"), Object.entries(c.models).map(([k, v]) => [k, v]), s.model);
  fillSelect($("activation"), c.activations.map((a) => [a, a]), s.activation);
  fillSelect($("optimizer"), c.optimizers.map((o) => [o, { gd: "gradient descent (31)", sgd: "SGD", adam: "Adam", lbfgs: "L-BFGS" }[o] || o]), s.optimizer);
  const set = (id, v) => { if (document.activeElement !== $(id)) $(id).value = v; };
  set("lr", s.lr === null ? "" : s.lr);
  set("batch", s.batch_size === null ? 0 : s.batch_size);
  set("l2", s.l2); set("seed", s.seed);
  set("validation", String(s.validation)); set("speed", String(s.speed));
  $("lr").disabled = s.optimizer === "lbfgs";
  $("lr").parentElement.classList.toggle("disabled", s.optimizer === "lbfgs");
  $("activation").disabled = s.model !== "III";
  $("activation").parentElement.classList.toggle("disabled", s.model !== "III");
  // the hidden layers: one chip per layer, − width +, and ± a layer
  const layers = $("layers");
  layers.replaceChildren();
  if (s.model !== "III") {
    layers.textContent = s.model === "I" ? "Model I has no hidden layer: ŷ = σ(b₀ + wᵀx̃)." : "Model II has no hidden layer: ŷ = S_Softmax(b + W x̃).";
    return;
  }
  const button = (text, title, fn) => {
    const b = document.createElement("button");
    b.textContent = text; b.title = title; b.addEventListener("click", fn); return b;
  };
  const label = document.createElement("span");
  label.textContent = "hidden layers";
  layers.append(label);
  s.hidden.forEach((width, i) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    const name = document.createElement("span");
    name.textContent = `${i + 1}:`;
    const value = document.createElement("b");
    value.textContent = width;
    const change = (d) => () => { const h = s.hidden.slice(); h[i] = Math.max(1, Math.min(64, h[i] + d)); configure({ hidden: h }); };
    chip.append(name, button("−", "one neuron fewer", change(-1)), value, button("+", "one neuron more", change(1)));
    layers.append(chip);
  });
  layers.append(button("+ layer", "add a hidden layer", () => configure({ hidden: s.hidden.concat([s.hidden[s.hidden.length - 1] || 4]) })));
  if (s.hidden.length > 1) layers.append(button("− layer", "remove the last hidden layer", () => configure({ hidden: s.hidden.slice(0, -1) })));
}

function renderData(d, s) {
  datasetOptions(state.choices, d);
  const toy = d.kind === "toy";
  $("toy-options").hidden = !toy;
  if (toy) {
    const setRange = (id, v) => { if (document.activeElement !== $(id)) $(id).value = v; $(id + "-value").textContent = v; };
    setRange("toy-n", d.spec.n); setRange("toy-noise", d.spec.noise);
    $("toy-classes-row").hidden = d.spec.classes === undefined;
    if (d.spec.classes !== undefined) setRange("toy-classes", d.spec.classes);
  }
  $("target-row").hidden = d.kind !== "csv";
  if (d.kind === "csv") fillSelect($("target"), d.columns.concat([d.target]).sort().map((c) => [c, c]), d.target);
  const classes = d.classes ? `, ${d.classes.length} classes` : "";
  $("data-info").innerHTML = `<b>${escapeHTML(d.name)}</b>: ${d.n} rows, ${d.columns.length} columns → p = ${d.features.length} features x̃; ` +
    `${escapeHTML(d.task)}${classes}. ${d.n_fit} rows to fit, ${d.n_validation} for validation. ${escapeHTML(d.description || "")}`;
  // the plane
  const plane = Array.isArray(s.plane) ? "features" : s.plane;
  if (document.activeElement !== $("plane")) $("plane").value = plane;
  const numeric = d.numeric.filter((c) => d.columns.includes(c));
  const chosen = Array.isArray(s.plane) ? s.plane : pictures && pictures.plane.kind === "features" ? pictures.plane.axes : numeric.slice(0, 2);
  fillSelect($("plane-x"), numeric.map((c) => [c, c]), chosen[0]);
  fillSelect($("plane-y"), numeric.map((c) => [c, c]), chosen[1]);
  $("plane-features").hidden = plane !== "features";
}

function renderReadout(st) {
  $("epoch").textContent = st.epoch.toLocaleString("en-US");
  $("loss").textContent = number(st.loss);
  $("val-loss").textContent = number(st.val_loss);
  const name = st.metric, r2 = name === "r2";
  $("metric-name").textContent = (r2 ? "R²" : "accuracy") + ": fit / validation";
  $("metric").textContent = r2 ? number(st.r2, 3) : percent(st.accuracy);
  $("val-metric").textContent = r2 ? number(st.val_r2, 3) : percent(st.val_accuracy);
  $("status").textContent = st.status;
  const playing = st.status === "running";
  $("play").innerHTML = playing ? "&#x275A;&#x275A;" : "&#x25B6;";
  $("play").setAttribute("aria-label", playing ? "pause" : "play");
  $("model-title").textContent = `${st.model.title}; d = ${st.model.d} parameters`;
  if (st.error) showBanner(st.error);
  else if (st.notice) showBanner(st.notice, "notice");
  else if (st.status === "finished") showBanner(`finished: ${st.stop_reason || ""}`, "notice");
  else if (!$("banner").dataset.sticky) showBanner(null);
}

function renderLegend(st, pic) {
  const legend = $("legend");
  legend.replaceChildren();
  const item = (html) => { const s = document.createElement("span"); s.className = "item"; s.innerHTML = html; legend.append(s); };
  const d = st.data;
  if (d.task === "regression") {
    const [lo, hi] = pic.grid.scale;
    item(`ŷ and y: ${number(lo, 3)} <span class="bar binary"></span> ${number(hi, 3)}`);
  } else {
    d.classes.forEach((c, k) => item(`<span class="swatch" data-k="${k}"></span>${escapeHTML(c)}`));
    if (d.classes.length === 2 && pic.grid.values.length && !Array.isArray(pic.grid.values[0])) {
      item(`<span class="bar binary"></span> p(y = ${escapeHTML(d.classes[1])})`);
    } else {
      item("regions: the most probable class, fainter where unsure");
    }
    item('<span class="ring"></span> misclassified (with all features)');
  }
  item('<span class="square"></span> validation row');
  legend.querySelectorAll(".swatch[data-k]").forEach((s) => { s.style.background = DP.classColour(Number(s.dataset.k)); });
  const p = pic.plane;
  let info = p.kind === "pca" ? `The plane through the fit rows' mean along their first two principal components of x̃ (eq. (13)). ` : `${escapeHTML(p.axes[0])} and ${escapeHTML(p.axes[1])} vary; every other column is at its median (or most frequent value). `;
  if (p.loadings) {
    info += p.loadings.map((l, j) => `PC${j + 1} ≈ ` + l.map(([name, w]) => `${w >= 0 ? "+" : "−"}${Math.abs(w).toFixed(2)} ${escapeHTML(name)}`).join(" ")).join("; ") + ".";
  }
  $("plane-info").innerHTML = info;
  $("output-hint").textContent = pic.points.row.length < d.n ? `showing ${pic.points.row.length} of ${d.n} rows` : "";
}

function render(st) {
  // A button's answer can arrive after a newer snapshot from the event stream (the run
  // moved on meanwhile): never go back to an older state, or the page would show it until
  // the next change, which for a paused run never comes.
  if (state && st.version < state.version) return;
  state = st;
  renderReadout(st);
  renderSettings(st.settings);
  renderData(st.data, st.settings);
  DP.drawCurves($("curves"), st);
  if (!applyingHash) DP.writeHash(st);
}

function renderPictures(pic) {
  if (!pic || pic.error || !state) { if (pic && pic.error) showBanner(pic.error); return; }
  pictures = pic;
  frame = DP.drawHeatmap($("heatmap"), pic, state, selected);
  DP.drawNetwork($("network"), pic, state);
  renderLegend(state, pic);
  const n = pic.network.sizes;
  $("network-info").textContent = `widths N = [${n.join(", ")}]; line width |w|, blue w > 0, orange w < 0; each hidden square shows that neuron's activation over the plane.`;
}

// ---------------------------------------------------------------- equations
function renderEquations(e) {
  explained = e;
  const box = $("equations");
  const head = document.createElement("div");
  head.className = "head";
  const what = e.row === null ? `the point (${number(e.u, 3)}, ${number(e.v, 3)}) of the plane` : `row ${e.row} (a ${e.split} row)`;
  const truth = e.truth === undefined ? "" : `, true ${state.data.task === "regression" ? "y" : "class"} ${escapeHTML(e.truth)}`;
  head.innerHTML = `<span class="what">${what}</span>${truth}; predicted <b>${escapeHTML(typeof e.prediction === "number" ? number(e.prediction) : e.prediction)}</b> at epoch ${state.epoch}`;
  const table = document.createElement("table");
  const numbersFrom = e.steps.findIndex(([label]) => label === "input");
  e.steps.forEach(([label, text], i) => {
    const tr = document.createElement("tr");
    if (numbersFrom >= 0 && i >= numbersFrom) tr.className = "numbers";
    tr.innerHTML = `<td class="label">${escapeHTML(label)}</td><td class="math">${DP.mathHTML(text)}</td>`;
    table.append(tr);
  });
  const details = document.createElement("details");
  details.innerHTML = "<summary>LaTeX and plain text</summary>";
  const pre = document.createElement("pre");
  pre.textContent = e.steps.map(([label, , latex]) => `${label}: ${latex}`).join("\n") + "\n\n" + e.text;
  details.append(pre);
  const title = document.createElement("div");
  title.className = "info";
  title.textContent = e.title;
  box.replaceChildren(head, title, table, details);
}

async function explainAt(x, y) {
  if (!pictures || !frame) return;
  const p = pictures.points;
  let best = -1, bestD = 9;  // pixels
  for (let i = 0; i < p.row.length; i++) {
    const d = Math.hypot(frame.x(p.u[i]) - x, frame.y(p.v[i]) - y);
    if (d < bestD) { best = i; bestD = d; }
  }
  let e;
  if (best >= 0) {
    selected = { u: p.u[best], v: p.v[best], row: p.row[best] };
    e = await act(DP.get("/api/explain", { row: p.row[best] }));
  } else if (pictures.plane.invertible) {
    selected = { u: frame.u(x), v: frame.v(y), row: null };
    e = await act(DP.get("/api/explain", { u: selected.u, v: selected.v }));
  } else {
    $("equations-hint").textContent = "click a data point (this plane has no raw row between them)";
    return;
  }
  if (e) { renderEquations(e); renderPictures(pictures); }
}

// For tests and for keyboard users: the page coordinates of data row `row`, if shown.
DP.pointOf = function (row) {
  if (!pictures || !frame) return null;
  const i = pictures.points.row.indexOf(row);
  if (i < 0) return null;
  const canvas = $("heatmap"), rect = canvas.getBoundingClientRect(), k = rect.width / canvas.width;
  return { x: rect.left + k * frame.x(pictures.points.u[i]), y: rect.top + k * frame.y(pictures.points.v[i]) };
};

// ---------------------------------------------------------------- wiring
function configure(changes) { return act(DP.post("/api/config", changes)); }

function wire() {
  $("play").addEventListener("click", () => act(DP.post(state && state.status === "running" ? "/api/pause" : "/api/play")));
  $("step").addEventListener("click", () => act(DP.post("/api/step", { epochs: 1 })));
  $("reset").addEventListener("click", () => { selected = null; act(DP.post("/api/reset")); });
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && !["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(document.activeElement.tagName)) {
      e.preventDefault(); $("play").click();
    }
  });
  $("model").addEventListener("change", (e) => configure({ model: e.target.value }));
  $("activation").addEventListener("change", (e) => configure({ activation: e.target.value }));
  $("optimizer").addEventListener("change", (e) => configure({ optimizer: e.target.value, lr: null }));
  const numeric = (id, key, toValue) => $(id).addEventListener("change", (e) => {
    if (e.target.value === "") return;
    configure({ [key]: toValue(Number(e.target.value)) });
  });
  numeric("lr", "lr", (v) => v);
  numeric("batch", "batch_size", (v) => (v <= 0 ? null : Math.round(v)));
  numeric("l2", "l2", (v) => v);
  numeric("seed", "seed", (v) => Math.round(v));
  $("validation").addEventListener("change", (e) => configure({ validation: Number(e.target.value) }));
  $("speed").addEventListener("change", (e) => configure({ speed: Number(e.target.value) }));
  $("plane").addEventListener("change", (e) => {
    const v = e.target.value;
    if (v !== "features") { configure({ plane: v }); return; }
    const x = $("plane-x").value, y = $("plane-y").value;
    if (x && y && x !== y) configure({ plane: [x, y] });
    else $("plane-features").hidden = false;
  });
  const pair = () => { const x = $("plane-x").value, y = $("plane-y").value; if (x !== y) configure({ plane: [x, y] }); };
  $("plane-x").addEventListener("change", pair);
  $("plane-y").addEventListener("change", pair);
  $("dataset").addEventListener("change", (e) => {
    const v = e.target.value;
    selected = null;
    if (v.startsWith("toy:")) act(DP.post("/api/data", { toy: v.slice(4) }));
    else if (v.startsWith("set:")) act(DP.post("/api/data", { dataset: v.slice(4) }));
    else $("upload").click();
  });
  const toyChange = () => {
    const spec = Object.assign({}, state.data.spec, { n: Number($("toy-n").value), noise: Number($("toy-noise").value) });
    if (spec.classes !== undefined) spec.classes = Number($("toy-classes").value);
    act(DP.post("/api/data", spec));
  };
  for (const id of ["toy-n", "toy-noise", "toy-classes"]) {
    $(id).addEventListener("input", (e) => { $(id + "-value").textContent = e.target.value; });
    $(id).addEventListener("change", toyChange);
  }
  $("upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    selected = null;
    await act(DP.post("/api/data", file, { name: file.name }));
    e.target.value = "";
  });
  $("target").addEventListener("change", (e) => act(DP.post("/api/data", { target: e.target.value })));
  $("heatmap").addEventListener("click", (e) => {
    const rect = e.target.getBoundingClientRect(), k = e.target.width / rect.width;
    explainAt((e.clientX - rect.left) * k, (e.clientY - rect.top) * k);
  });
  const download = (path, params) => {
    const a = document.createElement("a");
    a.href = DP.url(path, params); a.download = ""; document.body.append(a); a.click(); a.remove();
  };
  $("export-model").addEventListener("click", () => download("/api/export/model"));
  $("export-data").addEventListener("click", () => download("/api/export/data"));
  $("export-code").addEventListener("click", async () => {
    const code = await act(DP.get("/api/export/code"));
    if (!code) return;
    $("code-python").textContent = code.python;
    $("code-command").textContent = code.command;
    $("code-note").textContent = code.data_file ? `First save the data with “data CSV” as ${code.data_file}.` : "";
    $("code-dialog").showModal();
  });
  $("copy-python").addEventListener("click", () => navigator.clipboard.writeText($("code-python").textContent));
  $("copy-command").addEventListener("click", () => navigator.clipboard.writeText($("code-command").textContent));
  $("close-code").addEventListener("click", () => $("code-dialog").close());
}

// The #fragment's data and settings, applied once at start (a shared link).
async function applyHash(st, wanted) {
  applyingHash = true;
  try {
    const d = st.data, w = wanted.data;
    const same = !w || (w.toy && d.kind === "toy" && w.toy === d.spec.toy && w.n === d.spec.n && w.noise === d.spec.noise
      && (w.classes === undefined || w.classes === d.spec.classes) && w.seed === d.spec.seed)
      || (w.dataset && d.kind === "bundled" && w.dataset === d.spec.dataset);
    if (!same) st = (await act(DP.post("/api/data", w))) || st;
    const changes = {};
    for (const [k, v] of Object.entries(wanted.settings)) {
      const now = st.settings[k];
      if (JSON.stringify(k === "hidden" ? now.join(",") : now) !== JSON.stringify(v)) changes[k] = v;
    }
    if (wanted.csv && st.data.kind !== "csv") showBanner(`this link was made on ${wanted.csv}: upload that file to go on with it`, "notice");
    if (Object.keys(changes).length) st = (await act(DP.post("/api/config", changes))) || st;
  } finally {
    applyingHash = false;
  }
  return st;
}

async function start() {
  wire();
  const shared = location.hash.length > 1 ? DP.readHash() : null;  // before a render rewrites it
  applyingHash = shared !== null;
  let st = await act(DP.get("/api/state"));
  if (!st) return;
  if (shared) st = await applyHash(st, shared);
  render(st);
  DP.stream((snapshot) => {
    render(snapshot.state);
    if (snapshot.pictures) renderPictures(snapshot.pictures);
  }, (trouble) => { if (trouble) showBanner(trouble); });
  DP.started = true;
}
start();
})();
