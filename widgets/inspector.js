// nbduplex inspector widget: one micro-turn's inputs and decision.
//
// Kernel -> browser: {type: "show", seq, t, action, probs, attribution, user_text, text,
// level_db, step_ms, flags, dmel: [T, 80], frame: bool} + [dMel codes uint8 (T x 80), jpeg?].
// The view sends {type: "ready"} and the kernel (re)sends the current micro-turn.

const COLORS = {
  listen: "#bdbdbd", respond: "#2b7de9", backchannel: "#2bb673", interject: "#f29d1f",
  yield: "#e5484d", delegate: "#8e5bd9",
};


function colour(v) { // 0..1 -> dark blue .. yellow
  const r = Math.round(255 * Math.min(1, Math.max(0, 1.6 * v - 0.4)));
  const g = Math.round(255 * Math.min(1, v * 1.1));
  const b = Math.round(255 * Math.max(0, 0.55 - 0.6 * v + 0.3 * Math.sin(v * 3)));
  return [r, g, b];
}

function bars(obj, colours) {
  const wrap = document.createElement("div");
  const entries = Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  for (const [k, v] of entries) {
    const row = document.createElement("div");
    row.style.cssText = "display:flex;align-items:center;gap:6px;height:16px";
    const name = Object.assign(document.createElement("span"), { textContent: k });
    name.style.cssText = "width:170px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap";
    const bar = document.createElement("div");
    bar.style.cssText = `height:10px;width:${Math.round(Math.max(0, Math.min(1, v)) * 160)}px;background:${(colours && colours[k]) || "#7a8fa6"}`;
    const val = Object.assign(document.createElement("span"), { textContent: (+v).toFixed(2) });
    row.append(name, bar, val);
    wrap.append(row);
  }
  if (!entries.length) wrap.textContent = "—";
  return wrap;
}

function renderInspector({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbd-inspector";
  root.style.cssText = "font:12px system-ui,sans-serif;display:flex;gap:14px;flex-wrap:wrap;border:1px solid #ddd;border-radius:6px;padding:8px;max-width:100%";
  el.appendChild(root);
  let url = null;

  function show(m, bufs) {
    root.replaceChildren();
    root.dataset.seq = String(m.seq);
    const head = document.createElement("div");
    head.innerHTML = `<b>micro-turn #${m.seq}</b> · t = ${(+m.t).toFixed(1)} s`;
    const colA = document.createElement("div");
    colA.style.cssText = "display:flex;flex-direction:column;gap:6px";
    colA.append(head);
    if (m.frame && bufs[1]) {
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([bufs[1]], { type: "image/jpeg" }));
      const img = Object.assign(document.createElement("img"), { src: url, title: "video frame" });
      img.style.cssText = "width:160px;border-radius:4px;image-rendering:auto";
      colA.append(img);
    } else {
      colA.append(Object.assign(document.createElement("div"), { textContent: "(no video frame)" }));
    }
    const [T, F] = m.dmel || [0, 0];
    if (T && F && bufs[0]) {
      const codes = new Uint8Array(bufs[0].buffer, bufs[0].byteOffset, bufs[0].byteLength);
      const c = document.createElement("canvas");
      c.width = T; c.height = F;
      c.title = `dMel codes: ${T} frames x ${F} mel bins (low frequencies at the bottom)`;
      c.style.cssText = `width:${Math.max(160, T * 6)}px;height:${F * 1.5}px;image-rendering:pixelated;border:1px solid #ccc`;
      const g = c.getContext("2d"), img = g.createImageData(T, F);
      for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) {
        const [r, gg, b] = colour(codes[t * F + f] / 15), p = ((F - 1 - f) * T + t) * 4;
        img.data[p] = r; img.data[p + 1] = gg; img.data[p + 2] = b; img.data[p + 3] = 255;
      }
      g.putImageData(img, 0, 0);
      colA.append(c);
    }
    const colB = document.createElement("div");
    colB.style.cssText = "display:flex;flex-direction:column;gap:4px;min-width:280px";
    const act = document.createElement("div");
    act.innerHTML = `action: <b style="color:${COLORS[m.action] || "#000"}">${m.action}</b> · step ${(+m.step_ms).toFixed(2)} ms · level ${(+m.level_db).toFixed(1)} dBFS`;
    colB.append(act);
    const txt = (label, s) => { const d = document.createElement("div"); d.textContent = `${label}: ${s || "—"}`; return d; };
    colB.append(txt("user text", m.user_text), txt("model says", m.text));
    if (m.flags && m.flags.length) colB.append(txt("flags", m.flags.join(", ")));
    const info = Object.entries(m.info || {});
    if (info.length) colB.append(txt("policy", info.map(([k, v]) => `${k}=${v}`).join("  ")));
    colB.append(Object.assign(document.createElement("b"), { textContent: "probabilities" }), bars(m.probs, COLORS));
    colB.append(Object.assign(document.createElement("b"), { textContent: "attribution" }), bars(m.attribution));
    root.append(colA, colB);
  }

  model.on("msg:custom", (m, bufs) => { if (m && m.type === "show") show(m, bufs || []); });
  root.textContent = "Click a micro-turn in the timeline to inspect it.";
  model.send({ type: "ready" });
  return () => { if (url) URL.revokeObjectURL(url); };
}

export default safeWidget(renderInspector);
