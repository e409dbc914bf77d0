// nbduplex agent trace widget: a live Gantt of background-agent tasks and tool calls.
//
// Kernel -> browser: {type: "spans", spans: [{id, kind, start, end|null, label, track}], now}.
// A running span (end null) grows to `now`. One row per agent track, tool calls indented below
// their track. The view sends {type: "ready"}; data attributes expose what was drawn.

const COLORS = { agent_task: "#8e5bd9", tool_call: "#c38de0" };


function renderAgentTrace({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbd-agent-trace";
  root.style.cssText = "position:relative;font:12px system-ui,sans-serif";
  const title = Object.assign(document.createElement("div"), { textContent: "Background agent" });
  title.style.cssText = "color:#555;margin-bottom:2px";
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "display:block;width:100%;border:1px solid #ddd;border-radius:4px";
  const tip = document.createElement("div");
  tip.style.cssText = "position:absolute;display:none;pointer-events:none;background:#fffffff0;border:1px solid #999;padding:3px 5px;white-space:pre;font:11px ui-monospace,monospace";
  root.append(title, canvas, tip);
  el.appendChild(root);
  let spans = [], now = 0, rows = [], W = 600;
  const ROW = 18, GUT = 110;

  function layout() {
    const tracks = [];
    for (const s of spans) {
      const key = s.kind === "agent_task" ? (s.track || "agent") : `${s.track || "agent"} · tools`;
      if (!tracks.includes(key)) tracks.push(key);
    }
    tracks.sort();
    rows = tracks;
  }
  function draw() {
    layout();
    W = Math.max(200, root.clientWidth || 600);
    const H = Math.max(1, rows.length) * ROW + 20, dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.height = `${H}px`;
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const t1 = Math.max(now, ...spans.map((s) => s.end == null ? now : s.end), 1);
    const t0 = Math.min(t1 - 1, ...spans.map((s) => s.start));
    const X = (t) => GUT + ((t - t0) / Math.max(1e-6, t1 - t0)) * (W - GUT - 8);
    g.font = "11px system-ui"; g.textBaseline = "middle";
    rows.forEach((r, i) => { g.fillStyle = i % 2 ? "#fafafa" : "#f2f2f2"; g.fillRect(0, 16 + i * ROW, W, ROW); g.fillStyle = "#333"; g.fillText(r.slice(0, 18), 4, 16 + i * ROW + ROW / 2); });
    g.fillStyle = "#666";
    g.fillText(`${t0.toFixed(1)} s`, GUT, 8); g.fillText(`${t1.toFixed(1)} s`, W - 50, 8);
    let running = 0;
    for (const s of spans) {
      const key = s.kind === "agent_task" ? (s.track || "agent") : `${s.track || "agent"} · tools`;
      const i = rows.indexOf(key), e = s.end == null ? now : s.end;
      if (s.end == null) running++;
      const xa = X(s.start), xb = Math.max(xa + 2, X(e));
      g.fillStyle = s.error ? "#e5484d" : COLORS[s.kind] || "#999";
      g.globalAlpha = s.end == null ? 0.6 : 1;
      g.fillRect(xa, 18 + i * ROW, xb - xa, ROW - 4);
      g.globalAlpha = 1;
      if (xb - xa > 40) { g.fillStyle = "#fff"; g.fillText(String(s.label || s.kind).slice(0, Math.floor((xb - xa) / 6)), xa + 3, 16 + i * ROW + ROW / 2); }
    }
    if (!spans.length) { g.fillStyle = "#999"; g.fillText("no background tasks yet", GUT, 16 + ROW / 2); }
    root.dataset.spans = String(spans.length);
    root.dataset.running = String(running);
    root.dataset.rows = String(rows.length);
    canvas._X = X;
  }
  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    const i = Math.floor((y - 16) / ROW), X = canvas._X;
    const hit = X && spans.find((s) => {
      const key = s.kind === "agent_task" ? (s.track || "agent") : `${s.track || "agent"} · tools`;
      return rows.indexOf(key) === i && X(s.start) <= x && x <= Math.max(X(s.start) + 2, X(s.end == null ? now : s.end));
    });
    if (!hit) { tip.style.display = "none"; return; }
    const dur = (hit.end == null ? now : hit.end) - hit.start;
    tip.textContent = `${hit.kind}: ${hit.label || ""}\n${hit.start.toFixed(2)} s + ${dur.toFixed(2)} s${hit.end == null ? " (running)" : ""}${hit.error ? `\nerror: ${hit.error}` : ""}`;
    tip.style.display = "block"; tip.style.left = `${Math.min(x + 10, W - 220)}px`; tip.style.top = `${y + 24}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  model.on("msg:custom", (m) => { if (m && m.type === "spans") { spans = m.spans || []; now = m.now || 0; draw(); } });
  const ro = new ResizeObserver(draw);
  ro.observe(root);
  draw();
  model.send({ type: "ready" });
  return () => ro.disconnect();
}

export default safeWidget(renderAgentTrace);
