// Shared by every nbduplex widget module; nbduplex/widgets/_assets.py prepends this file to each
// module, so the modules stay plain ES modules with no bundler and no relative imports.

// Show an error inside the cell instead of leaving it blank.
function showError(el, e) {
  const pre = document.createElement("pre");
  pre.style.cssText = "color:#b00;white-space:pre-wrap;border:1px solid #b00;padding:6px";
  pre.textContent = `nbduplex widget error: ${e && e.stack ? e.stack : e}`;
  el.appendChild(pre);
  console.error(e);
}

// anywidget module whose render errors (sync or async) are shown in the cell.
function safeWidget(render) {
  return {
    render(ctx) {
      try {
        const out = render(ctx);
        if (out && typeof out.catch === "function") return out.catch((e) => showError(ctx.el, e));
        return out;
      } catch (e) {
        showError(ctx.el, e);
      }
    },
  };
}
