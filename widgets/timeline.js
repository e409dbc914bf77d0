// nbduplex timeline widget: canvas lanes of a (live) session, one column per 200 ms micro-turn.
//
// Lanes: user audio level + user speech, model speech, action per micro-turn, probability
// strip, agent spans (+ settings ticks). Live auto-scroll ("follow"), wheel zoom, drag pan,
// double-click = fit all, hover details, click a micro-turn -> {type: "select", seq} to Python.
// Bulk data arrives as {type: "turns", start, n, actions, texts} + [level f32, action u8,
// speaking u8, probs f32 (n x A), step_ms f32, flags u8]; spans as {type: "spans", spans}.
// The view sends {type: "ready"} first; the kernel queues data until then. Only the visible
// range is drawn; draw time (performance.now) is reported as {type: "perf", p50, p95, ...} and
// in data attributes (data-drawn, data-total, data-actions, data-frame-p95) for tests.

const TURN_S = 0.2;
const GUT = 64; // px of lane labels
const COLORS = {
  listen: "#ececec", respond: "#2b7de9", backchannel: "#2bb673", interject: "#f29d1f",
  yield: "#e5484d", delegate: "#8e5bd9",
};
const SPAN_COLORS = { user_speech: "#4a90d9", model_speech: "#f28c28", playback: "#1b9e77",
  agent_task: "#8e5bd9", tool_call: "#c38de0", setting: "#444" };
const LANES = [ // [key, label, y, h]
  ["user", "user", 18, 46], ["model", "model", 68, 18], ["action", "action", 90, 18],
  ["probs", "probs", 112, 40], ["agent", "agent", 156, 44],
];


function pct(a, q) {
  if (!a.length) return 0;
  const s = Float64Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

class Store { // growable columns indexed by seq
  constructor() { this.reset(); }
  reset() {
    this.actions = Object.keys(COLORS);
    this.clear();
  }
  clear() {
    this.n = 0; this.cap = 0; this.texts = new Map();
    this.level = this.action = this.speaking = this.probs = this.step = this.flags = null;
    this.grow(1024);
  }
  grow(need) {
    if (need <= this.cap) return;
    let cap = Math.max(1024, this.cap);
    while (cap < need) cap *= 2;
    const A = this.actions.length;
    const g = (old, T, k = 1) => { const a = new T(cap * k); if (old) a.set(old); return a; };
    this.level = g(this.level, Float32Array); this.action = g(this.action, Uint8Array);
    this.speaking = g(this.speaking, Uint8Array); this.probs = g(this.probs, Float32Array, A);
    this.step = g(this.step, Float32Array); this.flags = g(this.flags, Uint8Array);
    this.cap = cap;
  }
  put(msg, bufs) {
    const n = msg.n, s0 = msg.start, A = msg.actions.length;
    if (msg.actions.join() !== this.actions.join()) { this.actions = msg.actions; this.clear(); }
    this.grow(s0 + n);
    const v = (i, T) => new T(bufs[i].buffer.slice(bufs[i].byteOffset, bufs[i].byteOffset + bufs[i].byteLength));
    this.level.set(v(0, Float32Array), s0); this.action.set(v(1, Uint8Array), s0);
    this.speaking.set(v(2, Uint8Array), s0); this.probs.set(v(3, Float32Array), s0 * A);
    this.step.set(v(4, Float32Array), s0); this.flags.set(v(5, Uint8Array), s0);
    for (const [k, t] of Object.entries(msg.texts || {})) this.texts.set(+k, t);
    this.n = Math.max(this.n, s0 + n);
  }
}

function renderTimeline({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbd-timeline";
  root.style.cssText = "position:relative;font:12px system-ui,sans-serif;max-width:100%";
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;gap:8px;align-items:center;margin-bottom:2px;color:#555";
  const follow = Object.assign(document.createElement("button"), { textContent: "Follow" });
  const legend = document.createElement("span");
  legend.innerHTML = Object.entries(COLORS).map(([k, c]) => `<span style="display:inline-block;width:10px;height:10px;background:${c};margin:0 3px 0 8px;vertical-align:-1px"></span>${k}`).join("");
  const status = document.createElement("span");
  status.style.cssText = "margin-left:auto;font-variant-numeric:tabular-nums";
  bar.append(follow, legend, status);
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "display:block;width:100%;cursor:crosshair;border:1px solid #ddd;border-radius:4px";
  const tip = document.createElement("div");
  tip.style.cssText = "position:absolute;display:none;pointer-events:none;background:#fffffff0;border:1px solid #999;border-radius:4px;padding:4px 6px;white-space:pre;font:11px ui-monospace,monospace;z-index:10";
  root.append(bar, canvas, tip);
  el.appendChild(root);

  const S = new Store();
  let spans = [], selected = -1, x0 = 0, dirty = true, raf = 0, W = 900, H = model.get("height");
  const times = []; let framesSinceReport = 0, lastReport = performance.now(), benchTimes = null;
  const g = canvas.getContext("2d");
  const pps = () => model.get("px_per_s");
  const plotW = () => Math.max(10, W - GUT);
  const tEnd = () => S.n * TURN_S;

  function resize() {
    W = Math.max(200, root.clientWidth || el.clientWidth || 900);
    H = model.get("height");
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.height = `${H}px`;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    request();
  }
  function request() {
    dirty = true;
    if (!raf) raf = requestAnimationFrame(() => { raf = 0; if (dirty) draw(); });
  }
  function setFollow(on) {
    model.set("follow", on); model.save_changes();
    follow.style.fontWeight = on ? "700" : "400";
  }
  const X = (sec) => GUT + (sec - x0) * pps();

  function draw() {
    const t0 = performance.now();
    dirty = false;
    const p = pps(), pw = plotW();
    if (model.get("follow")) x0 = Math.max(0, tEnd() - pw / p);
    g.clearRect(0, 0, W, H);
    g.fillStyle = "#fafafa"; g.fillRect(GUT, 0, pw, H);
    const sec0 = x0, sec1 = x0 + pw / p;
    const i0 = Math.max(0, Math.floor(sec0 / TURN_S)), i1 = Math.min(S.n, Math.ceil(sec1 / TURN_S));
    const colW = TURN_S * p, stride = colW < 1 ? Math.ceil(1 / colW) : 1, w = Math.max(1, colW * stride);
    const A = S.actions.length;
    // time axis
    g.fillStyle = "#666"; g.font = "10px system-ui"; g.textBaseline = "top";
    const tick = [0.2, 1, 2, 5, 10, 30, 60, 120, 300].find((d) => d * p >= 60) || 600;
    for (let s = Math.ceil(sec0 / tick) * tick; s <= sec1; s += tick) {
      g.fillRect(X(s), 12, 1, 4);
      g.fillText(`${+s.toFixed(1)}s`, X(s) + 2, 2);
    }
    // lane backgrounds and labels
    for (const [, label, y, h] of LANES) {
      g.fillStyle = "#f0f0f0"; g.fillRect(GUT, y, pw, h);
      g.fillStyle = "#333"; g.fillText(label, 4, y + 2);
    }
    g.save();
    g.beginPath(); g.rect(GUT, 0, pw, H); g.clip(); // nothing spills into the label gutter
    const lane = Object.fromEntries(LANES.map(([k, , y, h]) => [k, [y, h]]));
    const counts = {};
    let drawn = 0;
    const pathsA = S.actions.map(() => new Path2D()), pathsP = S.actions.map(() => new Path2D());
    const lev = new Path2D(), spk = new Path2D(), txt = new Path2D(), usp = new Path2D();
    const [uy, uh] = lane.user, [my, mh] = lane.model, [ay, ah] = lane.action, [py, ph] = lane.probs;
    for (let i = i0; i < i1; i += stride) {
      const x = X(i * TURN_S);
      let a = S.action[i], L = S.level[i], sp = S.speaking[i], fl = S.flags[i];
      for (let j = 1; j < stride && i + j < i1; j++) { // aggregate: keep rare actions visible
        if (S.action[i + j] && !a) a = S.action[i + j];
        L = Math.max(L, S.level[i + j]); sp |= S.speaking[i + j]; fl |= S.flags[i + j];
      }
      drawn += Math.min(stride, i1 - i);
      const lh = Math.max(0, Math.min(1, (L + 70) / 70)) * (uh - 8);
      if (lh > 0) lev.rect(x, uy + uh - lh, w, lh);
      if (sp) spk.rect(x, my + 4, w, mh - 8);
      if (fl & 3) txt.rect(x, uy, w, 3);
      if (fl & 16) usp.rect(x, uy + 4, w, 4);
      pathsA[a].rect(x, ay, w, ah);
      let yy = py + ph;
      for (let k = 0; k < A; k++) {
        const hk = S.probs[i * A + k] * ph;
        if (hk > 0.25) { yy -= hk; pathsP[k].rect(x, yy, w, hk); }
      }
    }
    for (let i = i0; i < i1; i++) if (S.action[i]) counts[S.actions[S.action[i]]] = (counts[S.actions[S.action[i]]] || 0) + 1;
    g.fillStyle = "#7a8fa6"; g.fill(lev);
    g.fillStyle = "#333"; g.fill(txt);
    g.fillStyle = SPAN_COLORS.user_speech; g.fill(usp);
    g.fillStyle = SPAN_COLORS.model_speech; g.fill(spk);
    S.actions.forEach((name, k) => {
      g.fillStyle = COLORS[name] || "#999"; g.fill(pathsA[k]);
      g.fillStyle = COLORS[name] || "#999"; g.fill(pathsP[k]);
    });
    // spans (few): user speech band, model speech outline, playback, agent rows, settings
    const agentTracks = [];
    for (const s of spans) {
      const e = s.end == null ? tEnd() : s.end;
      if (e < sec0 || s.start > sec1) continue;
      const xa = X(s.start), xb = Math.max(xa + 1, X(e));
      g.fillStyle = SPAN_COLORS[s.kind] || "#999";
      if (s.kind === "user_speech") g.fillRect(xa, uy + 4, xb - xa, 4);
      else if (s.kind === "model_speech") g.fillRect(xa, my, xb - xa, 3);
      else if (s.kind === "playback") g.fillRect(xa, my + mh - 3, xb - xa, 3);
      else if (s.kind === "setting") g.fillRect(xa, 0, 1.5, H);
      else if (s.kind === "agent_task" || s.kind === "tool_call") {
        const key = s.kind === "agent_task" ? (s.track || "agent") : `${s.track || "agent"}/tools`;
        let row = agentTracks.indexOf(key);
        if (row < 0) { agentTracks.push(key); row = agentTracks.length - 1; }
        const [gy, gh] = lane.agent, rh = Math.min(12, gh / 3);
        g.fillRect(xa, gy + 2 + (row % 3) * (rh + 2), xb - xa, rh);
        if (xb - xa > 30) { g.fillStyle = "#fff"; g.fillText((s.label || s.kind).slice(0, Math.floor((xb - xa) / 6)), xa + 2, gy + 3 + (row % 3) * (rh + 2)); }
      }
    }
    if (selected >= i0 && selected < i1) {
      g.strokeStyle = "#000"; g.lineWidth = 1.5;
      g.strokeRect(X(selected * TURN_S), 16, Math.max(2, colW), H - 18);
    }
    g.restore();
    const dt = performance.now() - t0;
    times.push(dt); if (times.length > 600) times.shift();
    if (benchTimes) benchTimes.push(dt);
    framesSinceReport++;
    root.dataset.drawn = String(drawn);
    root.dataset.total = String(S.n);
    root.dataset.actions = JSON.stringify(counts);
    root.dataset.spans = String(spans.length);
    root.dataset.x0 = x0.toFixed(3);
    root.dataset.pps = String(p);
    root.dataset.gutter = String(GUT);
    root.dataset.frameP95 = pct(times, 0.95).toFixed(3);
    status.textContent = `${S.n} micro-turns · ${(S.n * TURN_S).toFixed(1)} s · draw ${dt.toFixed(2)} ms`;
    if (!benchTimes && performance.now() - lastReport > 2000) report("live");
  }

  function report(tag, ts = times) {
    if (!framesSinceReport && tag === "live") return;
    lastReport = performance.now();
    framesSinceReport = 0;
    model.send({ type: "perf", tag, n: ts.length, p50: pct(ts, 0.5), p95: pct(ts, 0.95), max: Math.max(0, ...ts), drawn: +root.dataset.drawn, total: S.n });
  }

  function bench(frames) { // redraw `frames` times while panning and zooming; report draw times
    benchTimes = [];
    const end = tEnd();
    let k = 0;
    const step = () => {
      const f = k / Math.max(1, frames - 1);
      if (k % 2) { model.set("px_per_s", 40); x0 = f * Math.max(0, end - plotW() / 40); model.set("follow", false); }
      else { model.set("px_per_s", Math.max(0.5, plotW() / Math.max(1, end))); x0 = 0; }
      draw();
      if (++k < frames) requestAnimationFrame(step);
      else {
        const ts = benchTimes;
        benchTimes = null;
        model.set("px_per_s", 40); setFollow(true); report("bench", ts); request();
      }
    };
    requestAnimationFrame(step);
  }

  // interaction -------------------------------------------------------------------------------
  let drag = null;
  const at = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  const seqAt = (x) => Math.floor((x0 + (x - GUT) / pps()) / TURN_S);
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [x] = at(ev), p = pps(), tx = x0 + Math.max(0, x - GUT) / p;
    const np = Math.min(2000, Math.max(0.2, p * Math.exp(-ev.deltaY * 0.0015)));
    x0 = Math.max(0, tx - Math.max(0, x - GUT) / np);
    if (ev.deltaY > 0 && x0 + plotW() / np >= tEnd()) x0 = Math.max(0, tEnd() - plotW() / np);
    else setFollow(false);
    model.set("px_per_s", np); model.save_changes(); request();
  }, { passive: false });
  canvas.addEventListener("mousedown", (ev) => { drag = { x: at(ev)[0], x0, moved: false }; });
  window.addEventListener("mouseup", (ev) => {
    if (drag && !drag.moved && ev.target === canvas) {
      const [x] = at(ev), s = seqAt(x);
      if (x > GUT && s >= 0 && s < S.n) { selected = s; model.send({ type: "select", seq: s }); request(); }
    }
    drag = null;
  });
  canvas.addEventListener("mousemove", (ev) => {
    const [x, y] = at(ev);
    if (drag) {
      if (Math.abs(x - drag.x) > 3) { drag.moved = true; setFollow(false); }
      x0 = Math.max(0, drag.x0 - (x - drag.x) / pps()); request();
      return;
    }
    const s = seqAt(x);
    if (x < GUT || s < 0 || s >= S.n) { tip.style.display = "none"; return; }
    const A = S.actions.length, pr = [];
    for (let k = 0; k < A; k++) pr.push([S.actions[k], S.probs[s * A + k]]);
    pr.sort((a, b) => b[1] - a[1]);
    const tx = S.texts.get(s) || ["", ""], sec = s * TURN_S;
    const sp = spans.filter((q) => q.start <= sec + TURN_S && (q.end == null ? tEnd() : q.end) >= sec).map((q) => `${q.kind}: ${q.label || ""}`);
    tip.textContent = [`#${s}  t=${sec.toFixed(1)} s  ${S.actions[S.action[s]]}`,
      `level ${S.level[s].toFixed(1)} dBFS  step ${S.step[s].toFixed(2)} ms${S.flags[s] & 16 ? "  user speech" : ""}${S.speaking[s] ? "  model speaking" : ""}`,
      pr.slice(0, 3).map(([a, v]) => `${a} ${v.toFixed(2)}`).join("  "),
      ...(tx[0] ? [`user: ${tx[0]}`] : []), ...(tx[1] ? [`model: ${tx[1]}`] : []), ...sp.slice(0, 4)].join("\n");
    tip.style.display = "block";
    tip.style.left = `${Math.min(x + 12, W - 260)}px`; tip.style.top = `${y + 30}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  canvas.addEventListener("dblclick", () => {
    model.set("px_per_s", Math.max(0.2, plotW() / Math.max(1, tEnd()))); x0 = 0; setFollow(false);
    model.save_changes(); request();
  });
  follow.onclick = () => { setFollow(!model.get("follow")); request(); };

  model.on("msg:custom", (msg, buffers) => {
    if (!msg) return;
    if (msg.type === "turns") { S.put(msg, buffers); request(); }
    else if (msg.type === "spans") { spans = msg.spans || []; request(); }
    else if (msg.type === "reset") { S.reset(); spans = []; selected = -1; request(); }
    else if (msg.type === "select") { selected = msg.seq; request(); }
    else if (msg.type === "bench") bench(msg.frames || 300);
  });
  for (const k of ["change:height", "change:px_per_s", "change:follow"]) model.on(k, k === "change:height" ? resize : request);
  setFollow(model.get("follow"));
  const ro = new ResizeObserver(resize);
  ro.observe(root);
  resize();
  model.send({ type: "ready" });
  return () => { ro.disconnect(); if (raf) cancelAnimationFrame(raf); };
}

export default safeWidget(renderTimeline);
