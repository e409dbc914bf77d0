"""Helpers for driving the widgets in a real JupyterLab + Debian Chromium (tests, benchmarks).

`Lab(root)` runs a JupyterLab server on a free port with a private config; `launch()` starts
Chromium through Playwright with a fake camera (y4m) and microphone (wav); `open_notebook`,
`run_cell` drive JupyterLab through `window.jupyterapp` (exposed with
`--LabApp.expose_app_in_browser=True`). Kernel-side state is read from JSON files that the
notebook writes (`status_cell`), so assertions are about what the kernel really received.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def missing_requirements() -> str | None:
    """Why browser tests cannot run here (None if they can)."""
    if shutil.which("chromium") is None:
        return "Debian chromium is not installed (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_media(
    directory: Path, text: str = "hello there, how are you doing today?"
) -> tuple[Path, Path]:
    """An espeak-ng speech wav (speech then 2.5 s of silence, looped by Chromium) and a y4m."""
    import soundfile as sf

    from nbduplex.scenarios.y4m import write_y4m
    from nbduplex.tts import synthesize

    speech = synthesize(text).audio
    audio = np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(40000, np.int16)])
    wav = directory / "speech.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    frames = []
    for k in range(10):  # a red square moving over a grey background, 2 s at 5 fps
        f = np.full((240, 320, 3), 90, np.uint8)
        f[80:160, 20 + 25 * k : 100 + 25 * k] = (220, 30, 30)
        frames.append(f)
    y4m = directory / "camera.y4m"
    write_y4m(y4m, frames, fps=5)
    return wav, y4m


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


def status_cell(expr: str, path: Path, every: float = 0.25) -> str:
    """Code for a notebook cell that writes `expr` as JSON to `path` from a daemon thread."""
    return f"""
import json as _json, os as _os, threading as _th, time as _time
def _dump():
    while True:
        try:
            _tmp = {str(path)!r} + ".tmp"
            with open(_tmp, "w") as _f:
                _json.dump({expr}, _f, default=str)
            _os.replace(_tmp, {str(path)!r})
        except Exception as _e:
            print("status error", _e)
        _time.sleep({every})
_th.Thread(target=_dump, daemon=True).start()
"""


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_json(path: Path, pred, timeout: float, poll: float = 0.2) -> dict[str, Any]:
    """Wait until the JSON at `path` satisfies `pred`; returns the last value (or raises)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = read_json(path)
        if last is not None and pred(last):
            return last
        time.sleep(poll)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting on {path.name}: {str(last)[:2000]}"
    )


class Lab:
    """A JupyterLab server in `root` with private config/runtime dirs (stop() ends it)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.log = self.root / "jupyter.log"

    def start(self, timeout: float = 60.0) -> Lab:
        env = dict(os.environ)
        for var, sub in (("JUPYTER_CONFIG_DIR", ".jcfg"), ("JUPYTER_RUNTIME_DIR", ".jrun")):
            env[var] = str(self.root / sub)
        env["PYTHONUNBUFFERED"] = "1"
        settings = self.root / ".jsettings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)  # no "official Jupyter news?" toast
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            f"--port={self.port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={self.root / '.jws'}", "--LabApp.news_url=",
            f"--LabApp.user_settings_dir={self.root / '.jsettings'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not start in {timeout} s")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?token={self.token}&reset"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def launch(pw, profile: Path, wav: Path | None, y4m: Path | None, *, fake_ui: bool = True):
    """A headless Debian Chromium with fake media devices (a fresh profile directory)."""
    args = list(CHROMIUM_FLAGS)
    if fake_ui:
        args.append("--use-fake-ui-for-media-stream")
    if y4m is not None:
        args.append(f"--use-file-for-fake-video-capture={y4m}")
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    return pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=shutil.which("chromium"),
        headless=True,
        args=args,
        viewport={"width": 1100, "height": 1300},
    )


def open_notebook(page, url: str, timeout: float = 60.0) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    page.goto(url)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell", timeout=timeout * 1000
    )
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.context && w.context.sessionContext.session &&
                      w.context.sessionContext.session.kernel;
            return k && k.status === 'idle'; }""",
        timeout=timeout * 1000,
    )


def run_cell(page, index: int, *, wait: bool = True) -> None:
    """Run cell `index` of the current notebook; `wait`: until it has finished."""
    page.evaluate(
        """async ([i, wait]) => { const w = window.jupyterapp.shell.currentWidget;
            w.content.activeCellIndex = i;
            const p = window.jupyterapp.commands.execute('notebook:run-cell');
            if (wait) await p; }""",
        [index, wait],
    )
