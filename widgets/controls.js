// nbduplex controls widget: eagerness slider and a do-not-interrupt switch.
//
// Both are synced traits (small settings); the kernel applies them live to the session's policy
// and records every change in the trace as a "setting" span.


function renderControls({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbd-controls";
  root.style.cssText = "font:13px system-ui,sans-serif;display:flex;gap:18px;align-items:center;border:1px solid #ccc;border-radius:6px;padding:6px 10px;max-width:720px";
  const eager = Object.assign(document.createElement("input"), { type: "range", min: "0", max: "1", step: "0.05" });
  eager.style.width = "160px";
  const eagerVal = document.createElement("span");
  eagerVal.style.cssText = "font-variant-numeric:tabular-nums;width:32px";
  const dni = Object.assign(document.createElement("input"), { type: "checkbox" });
  const lab = (text, ...kids) => { const l = document.createElement("label"); l.style.cssText = "display:flex;gap:6px;align-items:center"; l.append(text, ...kids); return l; };
  const note = document.createElement("span");
  note.style.cssText = "color:#666";
  root.append(lab("eagerness", eager, eagerVal), lab(dni, "do not interrupt"), note);
  el.appendChild(root);
  const show = () => {
    eager.value = String(model.get("eagerness"));
    eagerVal.textContent = (+model.get("eagerness")).toFixed(2);
    dni.checked = model.get("do_not_interrupt");
    note.textContent = model.get("note");
    root.dataset.eagerness = String(model.get("eagerness"));
    root.dataset.doNotInterrupt = String(model.get("do_not_interrupt"));
  };
  eager.oninput = () => { eagerVal.textContent = (+eager.value).toFixed(2); };
  eager.onchange = () => { model.set("eagerness", +eager.value); model.save_changes(); };
  dni.onchange = () => { model.set("do_not_interrupt", dni.checked); model.save_changes(); };
  for (const k of ["eagerness", "do_not_interrupt", "note"]) model.on(`change:${k}`, show);
  show();
}

export default safeWidget(renderControls);
