"""Baseline policies: VAD + silence-endpointing cascades (named presets) and scripted policies.

Presets (every parameter overridable through `make_preset(name, **overrides)`):

| name                | VAD                     | threshold | start (prefix) | end (silence) |
|---------------------|-------------------------|-----------|----------------|---------------|
| `openai-server-vad` | Silero                  | 0.5       | 300 ms         | 500 ms        |
| `pipecat`           | Silero                  | 0.7       | 200 ms         | 800 ms        |
| `webrtc-vad`        | WebRTC, aggressiveness 2| 0.5       | 300 ms         | 500 ms        |
| `energy-vad`        | energy (adaptive floor) | 0.5       | 300 ms         | 500 ms        |

OpenAI Realtime `server_vad` defaults: threshold 0.5, prefix_padding_ms 300, silence_duration_ms
500. Pipecat `VADParams` defaults: confidence 0.7, start_secs 0.2, stop_secs 0.8 (its
`min_volume` gate is not modelled). Overrides are `CascadeConfig` fields (`threshold`,
`prefix_ms`, `silence_ms`, `min_speech_ms`, `response_delay_ms`, `replies`, `barge_in`,
`eagerness`, `do_not_interrupt`, `name`, `vad`, `vad_options`); any other keyword goes to the VAD
(e.g. `aggressiveness=3` for WebRTC, `threshold_db=-50` for energy).
"""

from __future__ import annotations

import inspect
from dataclasses import replace

from nbduplex.policies.cascade import CONFIG_FIELDS, CascadeConfig, CascadePolicy
from nbduplex.policies.scripted import ScriptedPolicy, SilentPolicy
from nbduplex.policies.vad import VADS, EnergyVAD, SileroVAD, StreamingVAD, WebRTCVAD, make_vad

PRESETS: dict[str, CascadeConfig] = {
    "openai-server-vad": CascadeConfig(
        vad="silero", threshold=0.5, prefix_ms=300.0, silence_ms=500.0, name="openai-server-vad"
    ),
    "pipecat": CascadeConfig(
        vad="silero", threshold=0.7, prefix_ms=200.0, silence_ms=800.0, name="pipecat"
    ),
    "webrtc-vad": CascadeConfig(
        vad="webrtc",
        vad_options={"aggressiveness": 2},
        threshold=0.5,
        prefix_ms=300.0,
        silence_ms=500.0,
        name="webrtc-vad",
    ),
    "energy-vad": CascadeConfig(
        vad="energy", threshold=0.5, prefix_ms=300.0, silence_ms=500.0, name="energy-vad"
    ),
}


def make_preset(name: str, **overrides) -> CascadePolicy:
    """A fresh `CascadePolicy` from a named preset with any setting overridden.

    Keywords that are `CascadeConfig` fields replace them; the rest are VAD options, checked
    against the chosen VAD's constructor. Unknown names raise `ValueError`.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    base = PRESETS[name]
    cfg_over = {k: v for k, v in overrides.items() if k in CONFIG_FIELDS}
    vad_over = {k: v for k, v in overrides.items() if k not in CONFIG_FIELDS}
    vad_name = cfg_over.get("vad", base.vad)
    if vad_name not in VADS:
        raise ValueError(f"unknown VAD {vad_name!r}; choose one of: {', '.join(VADS)}")
    vad_options = dict(base.vad_options) if vad_name == base.vad else {}
    vad_options.update(cfg_over.pop("vad_options", {}) or {})
    vad_options.update(vad_over)
    allowed = set(inspect.signature(VADS[vad_name].__init__).parameters) - {"self", "kwargs"}
    if vad_name == "energy":
        from nbduplex.policies.vad import EnergyConfig

        allowed |= {f for f in EnergyConfig.__dataclass_fields__}
    unknown = sorted(set(vad_options) - allowed)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)} for preset {name!r} "
            f"(cascade: {', '.join(sorted(CONFIG_FIELDS))}; {vad_name} VAD: "
            f"{', '.join(sorted(allowed)) or 'none'})"
        )
    return CascadePolicy(replace(base, **cfg_over, vad_options=vad_options))


__all__ = [
    "PRESETS",
    "VADS",
    "CascadeConfig",
    "CascadePolicy",
    "EnergyVAD",
    "ScriptedPolicy",
    "SileroVAD",
    "SilentPolicy",
    "StreamingVAD",
    "WebRTCVAD",
    "make_preset",
    "make_vad",
]
