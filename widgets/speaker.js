// nbduplex speaker widget: plays the model's PCM chunks from the kernel with Web Audio.
//
// Kernel -> browser: {type: "pcm", seq, rate} + [int16 buffer] ; {type: "stop"} cuts at once.
// Browser -> kernel: {type: "span", start_seq, end_seq, start, end, cut} for every contiguous
// run of played chunks (start/end: epoch ms when it became audible / went silent), and
// {type: "ready"} once rendered.

const LEAD_S = 0.08; // scheduling lead so that consecutive chunks join without clicks

const CSS = `
.nbd-speaker { font: 13px system-ui, sans-serif; display: flex; gap: 8px; align-items: center;
  border: 1px solid #ccc; border-radius: 6px; padding: 6px 8px; max-width: 720px; }
.nbd-speaker .dot { width: 12px; height: 12px; border-radius: 50%; background: #bbb; }
.nbd-speaker.playing .dot { background: #06c; box-shadow: 0 0 6px #06c; }
.nbd-speaker .info { color: #555; font-variant-numeric: tabular-nums; }
.nbd-speaker button { display: none; }
.nbd-speaker.suspended button { display: inline-block; }
`;


const now = () => performance.timeOrigin + performance.now();

function renderSpeaker({ model, el }) {
  el.appendChild(Object.assign(document.createElement("style"), { textContent: CSS }));
  const root = document.createElement("div");
  root.className = "nbd-speaker";
  const dot = Object.assign(document.createElement("span"), { className: "dot" });
  const label = Object.assign(document.createElement("b"), { textContent: "Model voice" });
  const info = Object.assign(document.createElement("span"), { className: "info" });
  const enable = Object.assign(document.createElement("button"), { textContent: "Enable sound" });
  root.append(dot, label, info, enable);
  el.appendChild(root);

  let ctx = null, nextTime = 0, lastSeq = -2, run = null, played = 0, spans = 0, cuts = 0;
  const sources = new Set();

  const ensure = () => {
    if (!ctx) ctx = new AudioContext();
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    root.classList.toggle("suspended", ctx.state === "suspended");
    return ctx;
  };
  enable.onclick = () => { ensure(); setTimeout(() => root.classList.toggle("suspended", ctx.state === "suspended"), 100); };
  const epochAt = (ctxTime) => now() + (ctxTime - ctx.currentTime) * 1000;
  const show = () => {
    info.textContent = `${played} chunks played · ${spans} spans · ${cuts} cut${model.get("volume") < 1 ? ` · volume ${model.get("volume")}` : ""}`;
    root.dataset.played = String(played);
    root.dataset.spans = String(spans);
    root.dataset.cuts = String(cuts);
    root.classList.toggle("playing", sources.size > 0);
  };

  function finish(cut) {
    if (!run) return;
    const r = run;
    run = null;
    spans++;
    if (cut) cuts++;
    const endCtx = cut ? ctx.currentTime : r.endCtx;
    const audible = Math.max(0, endCtx - r.startCtx);
    const endSeq = cut ? Math.min(r.endSeq, r.startSeq + Math.floor(audible / 0.2)) : r.endSeq;
    model.send({ type: "span", start_seq: r.startSeq, end_seq: endSeq, start: r.startEpoch, end: cut ? now() : epochAt(endCtx), cut });
    show();
  }

  function play(seq, pcm, rate) {
    const c = ensure();
    const n = pcm.length;
    if (!n) return;
    const buf = c.createBuffer(1, n, rate);
    const ch = buf.getChannelData(0);
    const vol = model.get("volume");
    for (let i = 0; i < n; i++) ch[i] = (pcm[i] / 32768) * vol;
    const earliest = c.currentTime + LEAD_S;
    const contiguous = run && seq === lastSeq + 1 && nextTime >= c.currentTime;
    if (!contiguous) {
      finish(false);
      nextTime = earliest;
    }
    const at = Math.max(nextTime, contiguous ? c.currentTime : earliest);
    const src = c.createBufferSource();
    src.buffer = buf;
    src.connect(c.destination);
    src.start(at);
    sources.add(src);
    src.onended = () => {
      sources.delete(src);
      if (!sources.size && run && c.currentTime >= run.endCtx - 0.005) finish(false);
      show();
    };
    if (!run) run = { startSeq: seq, startCtx: at, startEpoch: epochAt(at), endSeq: seq, endCtx: at };
    run.endSeq = seq;
    nextTime = at + buf.duration;
    run.endCtx = nextTime;
    lastSeq = seq;
    played++;
    show();
  }

  function stopAll() {
    for (const s of sources) { s.onended = null; try { s.stop(); } catch (e) { /* not started */ } }
    sources.clear();
    if (ctx && run) finish(true);
    nextTime = 0;
    show();
  }

  model.on("msg:custom", (msg, buffers) => {
    if (!msg) return;
    if (msg.type === "pcm" && buffers && buffers.length) {
      const b = buffers[0];
      const pcm = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      play(msg.seq, pcm, msg.rate || 16000);
    } else if (msg.type === "stop") {
      stopAll();
    }
  });
  model.on("change:volume", show);
  show();
  model.send({ type: "ready" });
  return () => { stopAll(); if (ctx) ctx.close().catch(() => {}); };
}

export default safeWidget(renderSpeaker);
