// nbduplex capture widget: microphone + camera -> 200 ms chunk messages with binary buffers.
//
// Audio: getUserMedia -> AudioContext({sampleRate: 16000}) -> AudioWorklet (from a blob URL)
// that emits 3200-sample int16 chunks (it resamples itself if the context runs at another rate).
// Video: the <video> thumbnail is drawn on a canvas and encoded as JPEG (synchronously) once per chunk (or every
// `frame_every` chunks). Every chunk goes to the kernel as ONE custom message:
//   model.send({type: "chunk", seq, t0, t1, level, audio, frame}, undefined, [pcm, jpeg?])
// never as synced traits (ipywidgets coalesces state updates, which would lose chunks).

const CHUNK = 3200; // samples per 200 ms micro-turn at 16 kHz
const RATE = 16000;

export const WORKLET = `
class NbdChunker extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.n = options.processorOptions.chunk;
    this.step = sampleRate / options.processorOptions.rate; // input samples per output sample
    this.pos = 0; // fractional read position for resampling
    this.prev = 0;
    this.buf = new Int16Array(this.n);
    this.i = 0;
    this.on = true;
    this.port.onmessage = (e) => { if (e.data === "stop") this.on = false; };
  }
  emit(s) {
    s = s < -1 ? -1 : s > 1 ? 1 : s;
    this.buf[this.i++] = Math.round(s < 0 ? s * 32768 : s * 32767);
    if (this.i === this.n) {
      this.port.postMessage(this.buf.buffer, [this.buf.buffer]);
      this.buf = new Int16Array(this.n);
      this.i = 0;
    }
  }
  process(inputs) {
    const chans = inputs[0] || [];
    const len = chans.length ? chans[0].length : 128; // no input: silence keeps the clock going
    const x = new Float32Array(len);
    for (const c of chans) for (let k = 0; k < len; k++) x[k] += c[k] / chans.length;
    if (this.step === 1) {
      for (let k = 0; k < len; k++) this.emit(x[k]);
    } else {
      while (this.pos < len) {
        const j = Math.floor(this.pos), f = this.pos - j;
        const a = j === 0 ? this.prev : x[j - 1], b = x[j];
        this.emit(a + (b - a) * f);
        this.pos += this.step;
      }
      this.pos -= len;
      this.prev = x[len - 1];
    }
    return this.on;
  }
}
registerProcessor("nbd-chunker", NbdChunker);
`;

const CSS = `
.nbd-capture { font: 13px system-ui, sans-serif; border: 1px solid #ccc; border-radius: 6px;
  padding: 8px; display: flex; gap: 10px; align-items: flex-start; max-width: 720px; }
.nbd-capture .col { display: flex; flex-direction: column; gap: 6px; }
.nbd-capture button.nbd-start { font-weight: 600; padding: 4px 14px; cursor: pointer; }
.nbd-capture .live { display: none; color: #fff; background: #d00; border-radius: 4px;
  padding: 2px 8px; font-weight: 700; letter-spacing: .05em; }
.nbd-capture.is-live .live { display: inline-block; animation: nbdpulse 1s infinite; }
.nbd-capture.is-live { border-color: #d00; box-shadow: 0 0 0 2px #d003; }
@keyframes nbdpulse { 50% { opacity: .55; } }
.nbd-capture .meter { width: 160px; height: 8px; background: #eee; border-radius: 4px; overflow: hidden; }
.nbd-capture .meter > div { height: 100%; width: 0; background: #2a2; }
.nbd-capture video { width: 160px; height: 120px; background: #222; border-radius: 4px; object-fit: cover; }
.nbd-capture .msg { color: #444; max-width: 360px; }
.nbd-capture .msg.err { color: #b00; font-weight: 600; }
.nbd-capture .stats { color: #666; font-variant-numeric: tabular-nums; }
.nbd-capture select { max-width: 220px; }
`;


function h(tag, props = {}, ...kids) {
  const n = Object.assign(document.createElement(tag), props);
  for (const k of kids) n.append(k);
  return n;
}

function levelDb(pcm) {
  let s = 0;
  for (let i = 0; i < pcm.length; i++) s += pcm[i] * pcm[i];
  const r = Math.sqrt(s / Math.max(1, pcm.length)) / 32768;
  return r > 0 ? Math.max(-100, 20 * Math.log10(r)) : -100;
}

const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms resolution

function jpegBytes(dataUrl) { // "data:image/jpeg;base64,..." -> ArrayBuffer
  const bin = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function renderCapture({ model, el }) {
  el.appendChild(h("style", { textContent: CSS }));
  const root = h("div", { className: "nbd-capture" });
  const btn = h("button", { className: "nbd-start", textContent: "Start" });
  const live = h("span", { className: "live", textContent: "● LIVE" });
  const what = h("span", { className: "what" });
  const meter = h("div", { className: "meter" }, h("div"));
  const msg = h("div", { className: "msg" });
  const stats = h("div", { className: "stats" });
  const selA = h("select", { title: "microphone" });
  const selV = h("select", { title: "camera" });
  const video = h("video", { muted: true, playsInline: true, autoplay: true });
  const canvas = h("canvas");
  root.append(
    h("div", { className: "col" }, h("div", {}, btn, " ", live, " ", what), meter, selA, selV, msg, stats),
    h("div", { className: "col" }, video),
  );
  el.appendChild(root);

  let stream = null, ctx = null, node = null, seq = 0, sent = 0;
  let startedAt = 0;

  const setMsg = (text, err = false) => { msg.textContent = text; msg.className = err ? "msg err" : "msg"; };
  const reflect = (state) => {
    root.dataset.state = state;
    root.classList.toggle("is-live", state === "live");
    btn.textContent = state === "live" || state === "requesting" ? "Stop" : "Start";
  };
  const setState = (state, error = "") => {
    model.set("state", state);
    model.set("error", error);
    model.save_changes();
    reflect(state);
  };
  const showStats = () => {
    const r = model.get("received"), d = model.get("dropped"), l = model.get("late");
    stats.textContent = `sent ${sent} · received ${r} · dropped ${d} · late ${l}`;
    root.dataset.sent = String(sent);
  };
  model.on("change:received", showStats);
  model.on("change:dropped", showStats);
  model.on("change:late", showStats);
  const setCanvas = () => {
    canvas.width = model.get("frame_width");
    canvas.height = model.get("frame_height");
  };
  setCanvas();
  model.on("change:frame_width", setCanvas);
  model.on("change:frame_height", setCanvas);

  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devs = await navigator.mediaDevices.enumerateDevices();
    const fill = (sel, kind, trait) => {
      sel.replaceChildren(h("option", { value: "", textContent: `default ${kind === "audioinput" ? "microphone" : "camera"}` }));
      for (const d of devs.filter((d) => d.kind === kind)) {
        sel.append(h("option", { value: d.deviceId, textContent: d.label || d.deviceId.slice(0, 8) || kind }));
      }
      sel.value = model.get(trait) || "";
    };
    fill(selA, "audioinput", "audio_device");
    fill(selV, "videoinput", "video_device");
    model.set("devices", devs.map((d) => ({ kind: d.kind, id: d.deviceId, label: d.label })));
    model.save_changes();
  }
  selA.onchange = () => { model.set("audio_device", selA.value); model.save_changes(); };
  selV.onchange = () => { model.set("video_device", selV.value); model.save_changes(); };
  const showMode = () => {
    const m = model.get("mode");
    selA.style.display = m === "video" ? "none" : "";
    selV.style.display = m === "audio" ? "none" : "";
    video.style.display = m === "audio" ? "none" : "";
  };
  showMode();
  model.on("change:mode", showMode);

  function sendChunk(pcm) {
    const t1 = now();
    const mode = model.get("mode");
    const s = seq++;
    const level = mode === "video" ? -100 : levelDb(pcm);
    meter.firstChild.style.width = `${Math.max(0, Math.min(100, ((level + 60) / 60) * 100))}%`;
    meter.firstChild.style.background = level > -12 ? "#d80" : "#2a2";
    const meta = { type: "chunk", seq: s, t0: t1 - (CHUNK / RATE) * 1000, t1, level, audio: mode !== "video", frame: null };
    const every = Math.max(1, model.get("frame_every"));
    const wantFrame = mode !== "audio" && s % every === 0 && video.readyState >= 2;
    // JPEG synchronously: canvas.toBlob runs in idle time and stalls for seconds while the page
    // is busy (measured: up to 5 s during timeline redraws), which would delay the whole chunk
    try {
      const bufs = meta.audio ? [pcm.buffer] : [];
      if (wantFrame) {
        const g = canvas.getContext("2d");
        g.drawImage(video, 0, 0, canvas.width, canvas.height);
        bufs.push(jpegBytes(canvas.toDataURL("image/jpeg", model.get("jpeg_quality"))));
        meta.frame = { width: canvas.width, height: canvas.height, format: "jpeg" };
      }
      meta.sent = now();
      model.send(meta, undefined, bufs);
      sent++;
      showStats();
    } catch (e) {
      setMsg(`chunk ${s} failed: ${e}`, true);
    }
  }

  async function start() {
    const mode = model.get("mode");
    const ec = model.get("echo_cancellation");
    const aDev = model.get("audio_device"), vDev = model.get("video_device");
    const audio = mode === "video" ? false : {
      channelCount: 1, echoCancellation: ec, noiseSuppression: ec, autoGainControl: ec,
      ...(aDev ? { deviceId: { exact: aDev } } : {}),
    };
    const vid = mode === "audio" ? false : {
      width: { ideal: 640 }, height: { ideal: 480 }, ...(vDev ? { deviceId: { exact: vDev } } : {}),
    };
    setState("requesting");
    setMsg(`asking for ${mode === "both" ? "microphone and camera" : mode === "audio" ? "the microphone" : "the camera"}…`);
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw Object.assign(new Error("this page cannot use media devices (needs https or localhost)"), { name: "NotSupportedError" });
      }
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: vid });
    } catch (e) {
      const denied = e.name === "NotAllowedError" || e.name === "SecurityError";
      const absent = e.name === "NotFoundError" || e.name === "OverconstrainedError" || e.name === "NotReadableError";
      const state = denied ? "denied" : absent ? "no_device" : "error";
      const text = denied
        ? "Permission denied: allow the microphone/camera for this page (address bar) and press Start again."
        : absent ? `No usable ${mode === "video" ? "camera" : mode === "audio" ? "microphone" : "microphone or camera"} found (${e.name}: ${e.message}).`
        : `Could not start capture (${e.name}: ${e.message}).`;
      setMsg(text, true);
      setState(state, `${e.name}: ${e.message}`);
      return;
    }
    if (mode !== "audio") {
      video.srcObject = stream;
      try { await video.play(); } catch (e) { /* autoplay of a muted video may still be refused */ }
    }
    // 16 kHz context when the browser can connect the microphone to it; otherwise the device
    // rate, and the worklet resamples to 16 kHz itself
    let source = null;
    for (const rate of [RATE, undefined]) {
      ctx = new AudioContext(rate ? { sampleRate: rate } : {});
      try {
        if (mode !== "video") source = ctx.createMediaStreamSource(stream);
        break;
      } catch (e) {
        await ctx.close().catch(() => {});
        if (!rate) throw e;
      }
    }
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    await ctx.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    node = new AudioWorkletNode(ctx, "nbd-chunker", {
      numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: "explicit",
      processorOptions: { chunk: CHUNK, rate: RATE },
    });
    if (source) source.connect(node);
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination); // keeps the worklet pulled by the graph
    seq = 0; sent = 0; startedAt = now();
    model.send({ type: "start", t: startedAt, mode, rate: RATE, sample_rate: ctx.sampleRate, echo_cancellation: ec });
    node.port.onmessage = (e) => { if (stream) sendChunk(new Int16Array(e.data)); };
    await ctx.resume();
    const tracks = stream.getTracks().map((t) => t.kind).join(" + ").replace("audio", "microphone").replace("video", "camera");
    what.textContent = tracks;
    setMsg(`streaming ${tracks} in 200 ms chunks${ec ? " (echo cancellation on)" : ""}`);
    setState("live");
    listDevices().catch(() => {});
  }

  async function stop(reason = "stopped") {
    const s = stream;
    stream = null;
    if (node) { node.port.postMessage("stop"); node.disconnect(); node = null; }
    if (ctx) { await ctx.close().catch(() => {}); ctx = null; }
    if (s) s.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    what.textContent = "";
    meter.firstChild.style.width = "0";
    if (s) model.send({ type: "stop", t: now(), seq, reason });
    setState("stopped");
    setMsg(`stopped after ${seq} chunks`);
  }

  btn.onclick = () => {
    const st = model.get("state");
    (st === "live" || st === "requesting" ? stop() : start()).catch((e) => {
      setMsg(`capture failed: ${e}`, true);
      setState("error", String(e));
    });
  };
  model.on("msg:custom", (m) => { if (m && m.type === "stop") stop("kernel").catch(() => {}); });
  reflect(model.get("state") === "live" ? "stopped" : model.get("state") || "idle");
  setMsg("Press Start to stream from this browser into the kernel.");
  showStats();
  listDevices().catch(() => {});
  return () => { stop("closed").catch(() => {}); };
}

export default safeWidget(renderCapture);
