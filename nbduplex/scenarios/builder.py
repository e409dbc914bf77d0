"""The timeline builder: places speech, silences, typed text and scene objects, and records labels.

Scenario kinds (kinds.py) are small functions that call `Builder.say`, `wait`, `type_text`,
`user_turn`, `expect` and `add_object` in order; `Builder.build()` renders audio (room colour,
level, noise at an SNR) and video and returns a `Scenario`. Every random choice comes from one
numpy Generator seeded by the scenario seed, so the result is a pure function of the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE, TextEvent, float_to_int16
from nbduplex.scenarios import acoustics, text
from nbduplex.scenarios.labels import (
    Expected,
    Labels,
    Span,
    SpeechSegment,
    Turn,
    reaction_seq,
    timed_seq,
)
from nbduplex.scenarios.scenario import Scenario
from nbduplex.scenarios.video import SceneObject, render_frames
from nbduplex.scenarios.voices import VoiceParams, sample_voice, voice_pool
from nbduplex.tts import synthesize


@dataclass
class ScenarioConfig:
    """Rendering settings shared by every kind."""

    synth: str = "espeak"
    voices: list[str] | str | None = None  # a list, "train", "heldout" or None (see voices.py)
    snr_db: float | None = None  # None: random 5-35 dB; inf: no noise
    noise: str | None = None  # white | pink | hum | babble; None: random
    room: str | None = None  # dry | reverb | eq; None: random
    bandwidth_hz: float | None = None  # low-pass the speech here (narrowband); None: full band
    level_dbfs: float | None = None  # active speech level; None: random -32..-14 dBFS
    frame_size: tuple[int, int] = (128, 96)  # (W, H) pixels
    frames_per_turn: int = 1  # video frames per micro-turn (0 = no video)
    simulate_agent: bool = True  # post the delegated answer as an "agent" text event
    tail_s: float = 1.5  # s of silence after the last event


class Builder:
    """Accumulates one scenario; `t` is the cursor (end of the last thing placed), seconds."""

    def __init__(self, kind: str, seed: int, config: ScenarioConfig):
        self.kind, self.seed, self.cfg = kind, seed, config
        self.rng = np.random.default_rng([seed, _kind_salt(kind)])
        pool = voice_pool(config.synth, config.voices)
        self.voice: VoiceParams = sample_voice(self.rng, config.synth, pool)
        self.t = 0.0
        self.labels = Labels(kind=kind, seed=seed, duration=0.0, voice=self.voice.to_dict())
        self.objects: list[SceneObject] = []
        self.text_events: list[tuple[float, TextEvent]] = []
        self._pieces: list[tuple[int, np.ndarray]] = []  # (start sample, int16 audio)
        self._end = 0.0  # latest time anything happens (for the total duration)

    # --- placing things -------------------------------------------------------------------
    def wait(self, seconds: float) -> float:
        """Advance the cursor by `seconds` of silence; returns the new cursor."""
        self.t += max(0.0, seconds)
        self._end = max(self._end, self.t)
        return self.t

    def say(
        self, words: str, *, role: str = "turn", turn: int = -1, cut_last: bool = False
    ) -> SpeechSegment:
        """Synthesise `words` in the user's voice at the cursor and move the cursor past it.

        `cut_last` cuts the audio in the middle of the last word (a cut-off clause).
        """
        v = self.voice
        rate = int(np.clip(v.rate * self.rng.uniform(0.92, 1.08), 80, 450))
        u = synthesize(words, v.synth, v.voice, rate, v.pitch, v.pitch_range, v.amplitude)
        u = u.trimmed()
        audio, wlist = u.audio, list(u.words)
        if cut_last and len(wlist) >= 2:
            w, s, e = wlist[-1]
            cut = int((s + 0.5 * (e - s)) * SAMPLE_RATE)
            fade = np.linspace(1.0, 0.0, min(160, cut))
            audio = audio[:cut].copy()
            audio[-fade.size :] = (audio[-fade.size :] * fade).astype(np.int16)
            wlist[-1] = (w, s, cut / SAMPLE_RATE)
        start = self.t
        self._pieces.append((int(round(start * SAMPLE_RATE)), audio))
        end = start + len(audio) / SAMPLE_RATE
        seg = SpeechSegment(
            start=start,
            end=end,
            text=words,
            synth=v.synth,
            voice=v.voice,
            params=dict(u.params),
            words=[(w, start + s, start + e) for w, s, e in wlist],
            turn=turn,
            role="cutoff" if cut_last else role,
        )
        self.labels.speech.append(seg)
        self.t = end
        self._end = max(self._end, end)
        return seg

    def type_text(self, words: str, at: float | None = None, role: str = "user") -> float:
        """A typed text event at `at` (default: the cursor); returns its time."""
        t = self.t if at is None else at
        self.text_events.append((t, TextEvent(role, words)))
        self._end = max(self._end, t)
        return t

    def expect(
        self,
        t: float,
        action: str,
        words: str = "",
        cause: str = "",
        *,
        timed: bool = False,
        tolerance_s: float = 0.5,
    ) -> Expected:
        """Record an ideal-model action due at `t` (timed: speech should *begin* at `t`)."""
        seq = timed_seq(t) if timed else reaction_seq(t)
        e = Expected(t=t, seq=seq, action=action, text=words, cause=cause, tolerance_s=tolerance_s)
        self.labels.expected.append(e)
        self._end = max(self._end, (seq + 2) * MICROTURN_S)
        return e

    def add_object(self, obj: SceneObject) -> None:
        """Put a shape into the scene (it may appear later or jump)."""
        self.objects.append(obj)
        end = obj.t_from
        if obj.jump_period > 0:
            end = max(end, obj.jump_t0 + obj.jumps * obj.jump_period)
        self._end = max(self._end, end)

    # --- composite user behaviour ---------------------------------------------------------
    def user_turn(
        self,
        n_pauses: int,
        *,
        pause_range: tuple[float, float] = (0.2, 1.5),  # s
        cutoff_p: float = 0.0,
        final: str | None = None,
        expects_response: bool = True,
        reply: bool = True,
    ) -> Turn:
        """A turn with `n_pauses` mid-turn pauses (labelled), maybe a cut-off, then a final
        sentence; records the turn end and, if `reply`, the expected response."""
        idx = len(self.labels.turns)
        start = self.t
        parts = []
        for i in range(n_pauses):
            frag = text.continuing_fragment(self.rng)
            frag = text.cap(frag) if i == 0 else frag
            parts.append(self.say(frag, turn=idx).text)
            self._pause(*pause_range)
        if self.rng.random() < cutoff_p:
            first, restart = text.cutoff_pair(self.rng)
            parts.append(self.say(first, turn=idx, cut_last=True).text + "-")
            self._pause(0.05, 0.3)
            parts.append(self.say(restart, turn=idx).text)
        last = final or text.final_sentence(self.rng)
        parts.append(self.say(last, turn=idx).text)
        turn = Turn(start, self.t, " ".join(parts), expects_response)
        self.labels.turns.append(turn)
        self.labels.turn_ends.append(turn.end)
        if reply and expects_response:
            self.expect(turn.end, "respond", text.pick(self.rng, text.REPLIES), "turn_end")
        return turn

    def _pause(self, lo: float, hi: float) -> None:
        d = float(self.rng.uniform(lo, hi))
        self.labels.pauses.append(Span(self.t, self.t + d))
        self.wait(d)

    # --- rendering ------------------------------------------------------------------------
    def build(self) -> Scenario:
        """Render audio and video and return the Scenario."""
        cfg, rng = self.cfg, self.rng
        total = self._end + cfg.tail_s
        n_turns = int(np.ceil(total / MICROTURN_S - 1e-9))
        n = n_turns * CHUNK_SAMPLES
        speech = np.zeros(n, np.float32)
        for start, a in self._pieces:
            seg = a[: max(0, n - start)].astype(np.float32) / 32768.0
            speech[start : start + seg.size] += seg
        if cfg.bandwidth_hz is not None:  # before the room: the voice's channel, not the room's
            speech = acoustics.band_limit(speech, cfg.bandwidth_hz)
        speech, room = acoustics.apply_room(speech, rng, cfg.room)
        if cfg.bandwidth_hz is not None:
            room = room | {"bandwidth_hz": float(cfg.bandwidth_hz)}
        level = cfg.level_dbfs if cfg.level_dbfs is not None else float(rng.uniform(-32, -14))
        s_rms = acoustics.active_rms(speech)
        if s_rms > 0:
            speech = speech * (10 ** (level / 20) / s_rms)
        kinds = acoustics.NOISE_TYPES
        noise_kind = cfg.noise or kinds[int(rng.integers(len(kinds)))]
        snr = cfg.snr_db if cfg.snr_db is not None else float(rng.uniform(5, 35))
        noise = acoustics.make_noise(n, rng, noise_kind) if np.isfinite(snr) else None
        mixed = acoustics.mix_at_snr(speech, noise, snr) if noise is not None else speech
        audio = float_to_int16(np.clip(mixed, -1.0, 1.0))
        frames = render_frames(
            self.objects, n_turns, rng, size=cfg.frame_size, per_turn=cfg.frames_per_turn
        )
        lab = self.labels
        lab.duration = round(n_turns * MICROTURN_S, 6)
        lab.noise = {"type": noise_kind if noise is not None else "none", "snr_db": float(snr)}
        lab.room, lab.voice["level_dbfs"] = room, level
        if not lab.tasks:
            lab.tasks = [self.kind]
        self.text_events.sort(key=lambda x: x[0])
        lab.expected.sort(key=lambda e: e.t)
        return Scenario(audio, frames, list(self.text_events), lab)


def _kind_salt(kind: str) -> int:
    """A stable integer per kind name (Python's hash() is salted per process)."""
    return int.from_bytes(kind.encode()[:8].ljust(8, b"\0"), "little")
