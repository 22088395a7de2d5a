// dlprimer playground: talking to the server (JSON API, event stream) and the URL's state.
"use strict";
const DP = (window.DP = window.DP || {});

DP.token = new URLSearchParams(location.search).get("token") || "";

// An API address with the token as its query parameter.
DP.url = function (path, params) {
  const u = new URL(path, location.origin);
  u.searchParams.set("token", DP.token);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
  return u.toString();
};

// A request; JSON answers are parsed, an error's message is thrown.
DP.request = async function (method, path, body, params) {
  const options = { method, headers: {} };
  if (body instanceof Blob) {
    options.body = body;
    options.headers["Content-Type"] = "text/csv";
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(DP.url(path, params), options);
  const type = answer.headers.get("Content-Type") || "";
  const value = type.startsWith("application/json") ? await answer.json() : await answer.text();
  if (!answer.ok) throw new Error((value && value.error) || answer.statusText);
  return value;
};
DP.get = (path, params) => DP.request("GET", path, undefined, params);
DP.post = (path, body, params) => DP.request("POST", path, body === undefined ? {} : body, params);

// Server-Sent Events: each "snapshot" carries the state and the latest pictures.
DP.stream = function (onSnapshot, onTrouble) {
  const source = new EventSource(DP.url("/api/events"));
  source.addEventListener("snapshot", (event) => onSnapshot(JSON.parse(event.data)));
  source.addEventListener("open", () => onTrouble(null));
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.OPEN) onTrouble("lost the server; retrying…");
  });
  return source;
};

// ---------------------------------------------------------------- the state in the URL
// The data and the settings live in the address's #fragment, so a page can be shared or
// bookmarked: open it on your own playground (your URL's ?token=… with this #…).
DP.hashOf = function (state) {
  const s = state.settings, d = state.data, out = {};
  if (d.kind === "toy") {
    out.data = "toy:" + d.spec.toy;
    out.n = d.spec.n;
    out.noise = d.spec.noise;
    if (d.spec.classes) out.classes = d.spec.classes;
    if (d.spec.seed) out.dseed = d.spec.seed;
  } else if (d.kind === "bundled") {
    out.data = "set:" + d.spec.dataset;
  } else {
    out.data = "csv:" + d.name;
    out.target = d.target;
  }
  Object.assign(out, {
    model: s.model, hidden: s.hidden.join(","), act: s.activation, opt: s.optimizer,
    lr: s.lr === null ? "" : s.lr, batch: s.batch_size === null ? 0 : s.batch_size,
    l2: s.l2, seed: s.seed, val: s.validation, speed: s.speed,
    plane: Array.isArray(s.plane) ? s.plane.join("|") : s.plane,
  });
  return out;
};

DP.writeHash = function (state) {
  const hash = "#" + new URLSearchParams(DP.hashOf(state)).toString();
  if (hash !== location.hash) history.replaceState(null, "", location.pathname + location.search + hash);
};

// The (data request, settings) that a #fragment asks for, or nulls where it says nothing.
DP.readHash = function () {
  const h = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
  let data = null;
  if (h.data && h.data.startsWith("toy:")) {
    data = { toy: h.data.slice(4), n: Number(h.n || 300), noise: Number(h.noise || 0.1), seed: Number(h.dseed || 0) };
    if (h.classes) data.classes = Number(h.classes);
  } else if (h.data && h.data.startsWith("set:")) {
    data = { dataset: h.data.slice(4) };
  }
  const settings = {};
  const number = (key, name) => { if (h[key] !== undefined && h[key] !== "") settings[name] = Number(h[key]); };
  if (h.model) settings.model = h.model;
  if (h.hidden) settings.hidden = h.hidden;
  if (h.act) settings.activation = h.act;
  if (h.opt) settings.optimizer = h.opt;
  number("lr", "lr"); number("batch", "batch_size"); number("l2", "l2"); number("seed", "seed");
  number("val", "validation"); number("speed", "speed");
  if (h.plane) settings.plane = h.plane.includes("|") ? h.plane.split("|") : h.plane;
  return { data, settings, csv: h.data && h.data.startsWith("csv:") ? h.data.slice(4) : null };
};
