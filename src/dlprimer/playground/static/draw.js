// dlprimer playground: the pictures, drawn on <canvas> from the JSON the server computes.
"use strict";
(function () {
const DP = window.DP;

// Class colours: TF Playground's orange and blue first, then distinct hues.
const PALETTE = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#7f7f7f", "#bcbd22"];
DP.PALETTE = PALETTE;
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const COLOURS = PALETTE.map(rgb);
const WHITE = [255, 255, 255];
const mix = (a, b, t) => a.map((x, i) => Math.round(x + (b[i] - x) * t));
DP.classColour = (k) => PALETTE[k % PALETTE.length];

// A value in [-1, 1] as orange (−) → white (0) → blue (+), TF Playground's scale.
function diverging(t) {
  t = Math.max(-1, Math.min(1, t));
  return t < 0 ? mix(WHITE, COLOURS[0], -t) : mix(WHITE, COLOURS[1], t);
}
DP.diverging = diverging;

// The colour of one grid cell: two classes by p(y = 1); K classes by the argmax class,
// fainter where the model is unsure; regression by ŷ on the data's range.
function cellColour(values, i, K, scale) {
  if (scale) {
    const v = values[i];
    return diverging((2 * (v - scale[0])) / (scale[1] - scale[0]) - 1);
  }
  if (K <= 2) {
    const p = K === 2 ? values[i][1] : values[i];
    return diverging((2 * p - 1) * 0.7);
  }
  const row = values[i];
  let best = 0;
  for (let k = 1; k < K; k++) if (row[k] > row[best]) best = k;
  const sure = (row[best] - 1 / K) / (1 - 1 / K);
  return mix(WHITE, COLOURS[best % COLOURS.length], 0.1 + 0.55 * sure);
}

// The plot area of the heatmap canvas and the maps between (u, v) and pixels.
DP.frame = function (canvas, extent) {
  const left = 44, top = 10, right = 10, bottom = 36;
  const w = canvas.width - left - right, h = canvas.height - top - bottom;
  const [u0, u1, v0, v1] = extent;
  return {
    left, top, w, h,
    x: (u) => left + ((u - u0) / (u1 - u0)) * w,
    y: (v) => top + ((v1 - v) / (v1 - v0)) * h,
    u: (x) => u0 + ((x - left) / w) * (u1 - u0),
    v: (y) => v1 - ((y - top) / h) * (v1 - v0),
  };
};

function ticks(low, high, count) {
  const span = high - low, step0 = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= step0) || step0;
  const out = [];
  for (let t = Math.ceil(low / step) * step; t <= high + 1e-9; t += step) out.push(Math.abs(t) < 1e-12 ? 0 : t);
  return out;
}
const fmt = (x) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(1) : String(+x.toFixed(2)));

// The regions as a G×G image (one pixel a grid point).
function regions(grid) {
  const G = grid.size, values = grid.values, K = Array.isArray(values[0]) ? values[0].length : 1;
  const image = new ImageData(G, G);
  for (let i = 0; i < G * G; i++) {
    const c = cellColour(values, i, K, grid.scale);
    image.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  const off = document.createElement("canvas");
  off.width = off.height = G;
  off.getContext("2d").putImageData(image, 0, 0);
  return off;
}

// The decision regions with the data on top. Returns the frame, for clicks.
DP.drawHeatmap = function (canvas, pictures, state, selected) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const plane = pictures.plane, grid = pictures.grid, G = grid.size;
  const f = DP.frame(canvas, plane.extent);
  const off = regions(grid);
  // grid nodes sit on the plot's edges: stretch by half a cell beyond them
  const cw = f.w / (G - 1), ch = f.h / (G - 1);
  ctx.save();
  ctx.beginPath(); ctx.rect(f.left, f.top, f.w, f.h); ctx.clip();
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, f.left - cw / 2, f.top - ch / 2, f.w + cw, f.h + ch);
  drawPoints(ctx, f, pictures, state, selected);
  ctx.restore();
  ctx.strokeStyle = "#9aa5ad"; ctx.lineWidth = 1;
  ctx.strokeRect(f.left + 0.5, f.top + 0.5, f.w, f.h);
  // axes
  const [u0, u1, v0, v1] = plane.extent;
  ctx.fillStyle = "#5b6770"; ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(u0, u1, 6)) {
    ctx.fillRect(f.x(t), f.top + f.h, 1, 4);
    ctx.fillText(fmt(t), f.x(t), f.top + f.h + 5);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(v0, v1, 6)) {
    ctx.fillRect(f.left - 4, f.y(t), 4, 1);
    ctx.fillText(fmt(t), f.left - 6, f.y(t));
  }
  ctx.fillStyle = "#1d2a33"; ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText(plane.axes[0], f.left + f.w / 2, canvas.height - 2);
  ctx.save();
  ctx.translate(11, f.top + f.h / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText(plane.axes[1], 0, 0);
  ctx.restore();
  return f;
};

function drawPoints(ctx, f, pictures, state, selected) {
  const p = pictures.points, n = p.row.length;
  const r = n > 800 ? 2.6 : 3.6;
  const scale = pictures.grid.scale;
  for (let i = 0; i < n; i++) {
    const x = f.x(p.u[i]), y = f.y(p.v[i]);
    let colour;
    if (scale) {
      const c = diverging((2 * (p.y[i] - scale[0])) / (scale[1] - scale[0]) - 1);
      colour = `rgb(${c[0]},${c[1]},${c[2]})`;
    } else colour = DP.classColour(p.label[i]);
    ctx.fillStyle = colour;
    // a point of regression wears its y's colour on ŷ's scale: a dark rim keeps it visible
    ctx.strokeStyle = scale ? "rgba(29,42,51,0.6)" : "#ffffff"; ctx.lineWidth = 1;
    ctx.beginPath();
    if (p.split[i] === 1) ctx.rect(x - r, y - r, 2 * r, 2 * r);  // a validation row
    else ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill(); ctx.stroke();
    if (!scale && !p.correct[i]) {  // misclassified, judged with all its features
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.6;
      ctx.beginPath(); ctx.arc(x, y, r + 2.2, 0, 2 * Math.PI); ctx.stroke();
    }
  }
  if (selected) {
    const x = f.x(selected.u), y = f.y(selected.v);
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 13, y); ctx.lineTo(x - 9, y); ctx.moveTo(x + 9, y); ctx.lineTo(x + 13, y);
    ctx.moveTo(x, y - 13); ctx.lineTo(x, y - 9); ctx.moveTo(x, y + 9); ctx.lineTo(x, y + 13); ctx.stroke();
  }
}

// A neuron's activations on the coarse grid as a small image; values scaled to [-1, 1].
function thumbnail(values, size, activation) {
  const image = new ImageData(size, size);
  let top = 1e-9;
  for (const v of values) top = Math.max(top, Math.abs(v));
  for (let i = 0; i < size * size; i++) {
    const v = values[i];
    const t = activation === "sigmoid" ? 2 * v - 1 : activation === "relu" ? v / top : v;
    const c = diverging(t);
    image.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  const off = document.createElement("canvas");
  off.width = off.height = size;
  off.getContext("2d").putImageData(image, 0, 0);
  return off;
}

// The network: inputs, a thumbnail per hidden neuron, outputs; each weight a line, its
// width |w| and its colour the sign (blue +, orange −).
DP.drawNetwork = function (canvas, pictures, state) {
  const ctx = canvas.getContext("2d");
  const net = pictures.network, sizes = net.sizes, L = sizes.length - 1;
  const shown = sizes.map((n) => Math.min(n, 16));
  const height = Math.max(300, Math.min(600, 44 + 30 * Math.max(...shown)));
  if (canvas.height !== height) canvas.height = height;  // room for a thumbnail per neuron
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const W = canvas.width, H = canvas.height;
  const left = 120, right = 90, top = 16, bottom = 16;
  const colX = (ell) => left + (ell * (W - left - right)) / L;
  const rows = Math.max(...shown);
  const box = Math.max(14, Math.min(34, (H - top - bottom) / rows - 6));
  const rowY = (ell, j) => {
    const count = shown[ell], gap = Math.min(box + 8, (H - top - bottom) / count);
    return H / 2 + (j - (count - 1) / 2) * gap;
  };
  let top_w = 1e-9;
  for (const layer of net.layers) for (const row of layer.W) for (const w of row) top_w = Math.max(top_w, Math.abs(w));
  net.layers.forEach((layer, i) => {
    layer.W.forEach((row, j) => row.forEach((w, k) => {
      const a = Math.abs(w) / top_w;
      ctx.strokeStyle = w >= 0 ? `rgba(8,119,189,${0.15 + 0.75 * a})` : `rgba(245,147,34,${0.15 + 0.75 * a})`;
      ctx.lineWidth = 0.4 + 4.2 * a;
      ctx.beginPath();
      ctx.moveTo(colX(i) + box / 2, rowY(i, k));
      ctx.lineTo(colX(i + 1) - box / 2, rowY(i + 1, j));
      ctx.stroke();
    }));
  });
  ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
  const thumbs = pictures.thumbnails;
  for (let ell = 0; ell <= L; ell++) {
    for (let j = 0; j < shown[ell]; j++) {
      const x = colX(ell) - box / 2, y = rowY(ell, j) - box / 2;
      if (ell > 0 && ell < L && thumbs.neurons[ell - 1]) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(thumbnail(thumbs.neurons[ell - 1].values[j], thumbs.size, net.activation), x, y, box, box);
        ctx.strokeStyle = "#8d99a2"; ctx.lineWidth = 1; ctx.strokeRect(x, y, box, box);
      } else if (ell === L && net.outputs.length === 1) {  // ŷ over the plane, as on the right
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(regions(pictures.grid), x, y, box, box);
        ctx.strokeStyle = "#8d99a2"; ctx.lineWidth = 1; ctx.strokeRect(x, y, box, box);
      } else {
        const classes = state.data.classes;
        const colour = ell === L && classes && net.outputs.length > 1 ? DP.classColour(j)
          : ell === L ? "#1d2a33" : "#e9edf0";
        ctx.fillStyle = colour;
        ctx.fillRect(x, y, box, box);
        ctx.strokeStyle = "#8d99a2"; ctx.lineWidth = 1; ctx.strokeRect(x, y, box, box);
      }
      ctx.fillStyle = "#33414b";
      if (ell === 0) {
        ctx.textAlign = "right";
        const name = net.inputs[j] || "";
        ctx.fillText(name.length > 17 ? name.slice(0, 16) + "…" : name, x - 6, y + box / 2);
      } else if (ell === L) {
        ctx.textAlign = "left";
        const name = net.outputs.length > 1 ? net.outputs[j] : "ŷ";
        ctx.fillText(name.length > 12 ? name.slice(0, 11) + "…" : name, x + box + 6, y + box / 2);
      }
    }
    ctx.textAlign = "center"; ctx.fillStyle = "#66737d";
    const more = sizes[ell] - shown[ell];
    if (more > 0) ctx.fillText(`+${more} more`, colX(ell), H - 6);
    const act = ell === 0 ? "x̃" : ell === L ? net.output : net.activation;
    ctx.fillText(`${ell === 0 ? "input" : ell === L ? "output" : "layer " + ell} (${sizes[ell]}) ${act}`, colX(ell), 7);
  }
};

// Training (dark) and validation (orange) loss per epoch, on a log axis.
DP.drawCurves = function (canvas, state) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 44, right = 10, top = 22, bottom = 30;
  ctx.clearRect(0, 0, W, H);
  const h = state.history, epochs = h.epoch || h.loss.map((_, i) => i + 1);
  const all = h.loss.concat(h.val_loss).filter((v) => v !== null && v > 0);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#66737d";
  if (!all.length) {
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText("the loss curves appear as it trains", W / 2, H / 2);
    return;
  }
  let lo = Math.log10(Math.min(...all)), hi = Math.log10(Math.max(...all));
  if (hi - lo < 0.3) { lo -= 0.15; hi += 0.15; }
  const E = Math.max(epochs[epochs.length - 1] || 1, 2);
  const x = (e) => left + ((e - 1) / (E - 1)) * (W - left - right);
  const y = (v) => top + ((hi - Math.log10(v)) / (hi - lo)) * (H - top - bottom);
  ctx.strokeStyle = "#e3e8ec"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  const every = Math.max(1, Math.ceil((Math.floor(hi) - Math.ceil(lo) + 1) / 5));
  for (let p = Math.ceil(lo); p <= Math.floor(hi); p += every) {
    ctx.beginPath(); ctx.moveTo(left, y(10 ** p)); ctx.lineTo(W - right, y(10 ** p)); ctx.stroke();
    ctx.fillText(p >= -2 && p <= 3 ? String(10 ** p) : `1e${p}`, left - 4, y(10 ** p));
  }
  ctx.strokeStyle = "#9aa5ad"; ctx.strokeRect(left + 0.5, top + 0.5, W - left - right, H - top - bottom);
  const line = (values, colour, dash) => {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.8; ctx.setLineDash(dash);
    ctx.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (v === null || !(v > 0)) return;
      if (started) ctx.lineTo(x(epochs[i]), y(v)); else { ctx.moveTo(x(epochs[i]), y(v)); started = true; }
    });
    ctx.stroke(); ctx.setLineDash([]);
  };
  line(h.loss, "#1d2a33", []);
  if (h.val_loss.length) line(h.val_loss, "#f59322", [5, 3]);
  ctx.fillStyle = "#66737d"; ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText("epoch", left + (W - left - right) / 2, H - 2);
  ctx.textBaseline = "top";
  ctx.fillText("1", x(1), H - bottom + 3);
  ctx.textAlign = "right"; ctx.fillText(String(E), x(E), H - bottom + 3);
  ctx.textAlign = "left"; ctx.textBaseline = "top";
  const name = state.data.task === "regression" ? "MSE" : "cross-entropy";
  ctx.fillStyle = "#1d2a33"; ctx.fillText(`— training loss (${name}, log scale)`, left, 3);
  if (h.val_loss.length) { ctx.fillStyle = "#c76d00"; ctx.fillText("- - validation loss", left + 230, 3); }
};
})();
