// The RnnCluster dashboard: plain DOM and SVG, no framework. Polls the coordinator's HTTP API
// once a second: /api/cluster, /api/jobs, and the selected job's /api/jobs/{id}/history?since=N
// (only the points it has not seen yet).
"use strict";

const state = { selected: null, manual: false, points: [], epochs: [], seq: 0, throughput: {} };
const $ = sel => document.querySelector(sel);

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

const fmt = (x, digits = 5) => x === null || x === undefined ? "–" : Number(x).toPrecision(digits);

function renderCluster(c) {
  $("#worker-count").textContent = `${c.workers} worker${c.workers === 1 ? "" : "s"}`;
  const body = $("#nodes tbody");
  body.replaceChildren(...c.nodes.map(n => {
    const tr = document.createElement("tr");
    tr.append(cell(n.address), cell(n.roles.join(", ")), cell(n.status, "state " + (n.status === "up" ? "running" : "stopped")));
    return tr;
  }));
}

function renderJobs(jobs) {
  $("#no-jobs").hidden = jobs.length > 0;
  if (!state.manual || !jobs.some(j => j.job_id === state.selected)) {
    const running = jobs.filter(j => j.state === "running" || j.state === "waiting_for_workers");
    const pick = (running.length ? running : jobs).at(-1);
    if (pick && pick.job_id !== state.selected) select(pick.job_id, false);
  }
  const body = $("#jobs tbody");
  body.replaceChildren(...jobs.map(j => {
    const tr = document.createElement("tr");
    tr.dataset.job = j.job_id;
    if (j.job_id === state.selected) tr.className = "selected";
    const rate = state.throughput[j.job_id];
    tr.append(cell(j.job_id), cell(j.state, "state job-state " + j.state), cell(j.epoch, "num"), cell(j.step, "num"),
      cell(fmt(j.last_loss), "num"), cell(rate ? rate.toFixed(0) : "–", "num"), cell(j.workers, "num"));
    const actions = document.createElement("td");
    if (j.state === "running" || j.state === "waiting_for_workers") {
      const stop = document.createElement("button");
      stop.textContent = "Stop";
      stop.className = "stop";
      stop.onclick = ev => { ev.stopPropagation(); stopJob(j.job_id, stop); };
      actions.append(stop, " ");
    }
    const weights = document.createElement("a");
    weights.textContent = "weights.npz";
    weights.className = "weights";
    weights.href = `api/jobs/${encodeURIComponent(j.job_id)}/weights`;
    weights.onclick = ev => ev.stopPropagation();
    actions.append(weights);
    tr.append(actions);
    tr.onclick = () => select(j.job_id, true);
    return tr;
  }));
}

async function stopJob(id, button) {
  button.disabled = true;
  try {
    const r = await fetch(`api/jobs/${encodeURIComponent(id)}/stop`, { method: "POST" });
    if (!r.ok) alert((await r.json()).error);
  } finally {
    tick();
  }
}

function select(id, manual) {
  if (manual) state.manual = true;
  if (id === state.selected) return;
  Object.assign(state, { selected: id, points: [], epochs: [], seq: 0 });
  $("#job-panel").hidden = false;
  $("#job-title").textContent = id;
  drawCharts();
}

async function refreshHistory() {
  const id = state.selected;
  if (!id) return;
  const h = await getJson(`api/jobs/${encodeURIComponent(id)}/history?since=${state.seq}`);
  if (id !== state.selected) return;
  state.points.push(...h.points);
  state.seq = h.last_seq;
  state.epochs = h.epochs;
  if (h.throughput) state.throughput[id] = h.throughput;
  $("#job-state").textContent = h.state;
  $("#job-state").className = "state " + h.state;
  $("#job-error").textContent = h.error && h.state !== "stopped" ? h.error : "";
  drawCharts();
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(name, attrs) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// Draws series [{xs, ys, cls}] into an svg of viewBox 640x260 with axes and min/max labels; the
// y axis is logarithmic when every value is positive (losses fall over orders of magnitude).
function drawChart(svg, series, xLabel) {
  const W = 640, H = 260, L = 64, R = 10, T = 10, B = 28;
  const all = series.flatMap(s => s.ys.map((y, i) => [s.xs[i], y])).filter(([, y]) => y !== null && isFinite(y));
  const log = all.length > 0 && all.every(([, y]) => y > 0);
  const f = y => log ? Math.log10(y) : y, unf = v => log ? Math.pow(10, v) : v;
  svg.replaceChildren();
  svg.setAttribute("data-points", String(series[0].ys.length));
  svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }), svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  if (all.length === 0) return;
  let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
  let [y0, y1] = [Math.min(...all.map(p => f(p[1]))), Math.max(...all.map(p => f(p[1])))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += Math.abs(y1) * 0.05 + 1e-6; y0 -= Math.abs(y0) * 0.05 + 1e-6; }
  const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R), sy = y => H - B - (f(y) - y0) / (y1 - y0) * (H - T - B);
  for (const s of series) {
    const pts = s.ys.map((y, i) => y === null ? null : `${sx(s.xs[i]).toFixed(1)},${sy(y).toFixed(1)}`).filter(p => p);
    if (pts.length) svg.append(svgEl("polyline", { points: pts.join(" "), class: s.cls }));
  }
  const label = (x, y, text, anchor) => { const t = svgEl("text", { x, y, "text-anchor": anchor }); t.textContent = text; svg.append(t); };
  label(L - 4, T + 9, fmt(unf(y1), 4), "end");
  label(L - 4, H - B, fmt(unf(y0), 4), "end");
  if (log) label(L + 4, T + 9, "log scale", "start");
  label(L, H - 8, String(x0), "start");
  label(W - R, H - 8, `${x1} ${xLabel}`, "end");
}

function drawCharts() {
  const p = state.points;
  drawChart($("#loss-chart"), [{ xs: p.map(q => q.global_step), ys: p.map(q => q.loss), cls: "line-loss" }], "steps");
  const e = state.epochs;
  drawChart($("#epoch-chart"), [
    { xs: e.map(q => q.epoch + 1), ys: e.map(q => q.loss), cls: "line-loss" },
    { xs: e.map(q => q.epoch + 1), ys: e.map(q => q.val_loss), cls: "line-val" },
  ], "epochs");
}

async function tick() {
  try {
    const [cluster, jobs] = await Promise.all([getJson("api/cluster"), getJson("api/jobs")]);
    renderCluster(cluster);
    await refreshHistory().catch(() => {});
    renderJobs(jobs);
    $("#connection").textContent = "live · " + new Date().toLocaleTimeString();
  } catch (err) {
    $("#connection").textContent = "disconnected: " + err.message;
  }
}

tick();
setInterval(tick, 1000);
