"""One scenario -> one training example: inputs per micro-turn, targets, label shaping.

Each scenario becomes one example: per micro-turn inputs (dMel codes of the whole signal,
the newest frame downscaled, the text that arrived, time, since-text, the model-speaking flag)
and targets (one action per micro-turn from `labels.target_actions()`, and a reply id on the
micro-turns whose target is a speech action).

Teacher forcing of the model's own behaviour: after a target speech action at micro-turn k
the model's words arrive as a TextEvent("model", words) in micro-turn k + 1 (as the session
does) and the speaking flag is on from k + 1 for the length of those words spoken by the default
speaker voice; when a barge-in (target `yield` at y) follows a response, the model is taken to
still be talking until y, and silent from y + 1.

Label shaping (`data.DATA_VERSION` >= 2; bump it when any of this changes):
- late answers: for `LATE_RESPOND_P` of the turn-end answers (seeded by the scenario seed) the
  teacher-forced answer comes one micro-turn late (target "listen" -> IGNORE at the ideal
  micro-turn, "respond" at the next one), so the model learns that a missed turn end is still
  answered rather than never seeing "turn over, not yet speaking";
- back-channel recovery (`DataConfig.bc_recovery`, DATA_VERSION >= 4): for that share (0.2) of
  the turn-end answers the model is teacher-forced to have said a back-channel at the turn end
  (its words and speaking flag; the action there is IGNOREd, not taught), and the answer is
  taught right after the back-channel ends. Most missed turn ends on held-out voices were a
  back-channel where an answer was due, then silence. Measured (MODEL_CARD.md): more turn ends
  taken, but also more mid-turn pauses answered; 0 turns it off;
- back-channel in a pause (DATA_VERSION >= 5): the same share of mid-turn pauses of at least
  `PAUSE_BC_MIN_S` get a teacher-forced back-channel at their start, followed by "listen": so
  "I said mm-hm and it is quiet" is no shortcut for "answer now" (stage 4, trained without
  these, answered 7 of the 37 pauses it took on training voices (unseen seeds) right after its
  own back-channel);
- pause mask: `pause[k]` marks the "listen" micro-turns decided inside a labelled mid-turn
  pause (the hard negatives of turn-taking); training multiplies their action loss by
  `TrainConfig.pause_weight`;
- timing tolerance: instructed, cue, counting and visual events are scored within
  +-`tolerance_s`, so the micro-turns next to the ideal one are IGNOREd for the action loss
  (not punished as "listen") and carry the same word target;
- anchors: `anchor[k]` is the micro-turn of the spoken instruction a target at k depends on
  (-1 for none or a typed one, which the text reminder carries); `collate` drops targets whose
  spoken instruction lies before the crop (unanswerable).
The text of every micro-turn carries the instruction reminder (`featurize.InstructionMemory`).
"""

from __future__ import annotations

import math

import numpy as np

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, TextEvent
from nbduplex.model.config import BACKCHANNEL_REPLIES, ModelConfig
from nbduplex.model.featurize import InstructionMemory, area_downscale, encode_text

IGNORE = -100  # target value that the losses skip
SPEECH = ("respond", "backchannel", "interject")
LATE_RESPOND_P = 0.3  # share of turn-end answers teacher-forced one micro-turn late
TOLERANT_CAUSES = ("timespeak", "cue", "count", "visual")  # scored with a timing tolerance
INSTRUCTED_CAUSES = {"timespeak": "timespeak", "cue": "cuespeak", "count": "count"}
PAUSE_BC_MIN_S = 0.6  # s; mid-turn pauses at least this long may get a forced back-channel


def reply_id(text: str, action: str, replies: tuple[str, ...]) -> int:
    """The word-head class for an expected utterance (exact match, else a fallback)."""
    norm = {r.lower().strip(" .!?"): i for i, r in enumerate(replies)}
    key = text.lower().strip(" .!?")
    if key in norm and key:
        return norm[key]
    if text.lower().startswith("i see a"):
        return replies.index("I see something.")
    if any(c.isdigit() for c in text) and "@agent" in replies:
        return replies.index("@agent")
    if action == "backchannel":
        return norm.get("mm-hm", 1)
    return 1  # the first answer


_DURATION_CACHE: dict[str, float] = {}


def spoken_seconds(text: str) -> float:
    """How long the default speaker voice takes to say `text` (espeak en-us, 180 wpm)."""
    if text not in _DURATION_CACHE:
        try:
            from nbduplex.tts import synthesize

            _DURATION_CACHE[text] = len(synthesize(text, "espeak", "en-us", 180).audio) / 16000
        except Exception:  # no synthesiser: about 0.3 s per word
            _DURATION_CACHE[text] = 0.3 * max(1, len(text.split()))
    return _DURATION_CACHE[text]


def scenario_example(
    scenario, config: ModelConfig, bc_recovery: float = 0.2
) -> dict[str, np.ndarray]:
    """One scenario -> arrays of length T = number of micro-turns (see module docstring)."""
    from nbduplex.features import dmel_codes

    n = scenario.n_turns
    codes = dmel_codes(scenario.audio[: n * CHUNK_SAMPLES])[: n * 16].reshape(n, 16, 80)
    s = config.image_size
    image = np.zeros((n, 3, s, s), np.uint8)
    has_image = np.zeros(n, bool)
    for k, fr in enumerate(scenario.frames[:n]):
        if fr:
            image[k] = np.round(area_downscale(fr[-1], s) * 255).astype(np.uint8)
            has_image[k] = True
    names = list(config.actions)
    targets = scenario.labels.target_actions(n)
    action = np.array([names.index(a) for a in targets], np.int64)
    reply = np.full(n, IGNORE, np.int64)
    speaking = np.zeros(n, np.float32)
    model_text: dict[int, str] = {}
    anchor = np.full(n, -1, np.int64)
    expected = sorted(scenario.labels.expected, key=lambda e: e.seq)
    rng = np.random.default_rng([int(scenario.labels.seed), 7])
    busy = {e.seq for e in expected}
    for i, e in enumerate(expected):
        if e.action not in SPEECH or not 0 <= e.seq < n:
            continue
        rid = reply_id(e.text, e.action, config.replies)
        seq = e.seq
        shape = rng.random() if e.action == "respond" else 1.0
        late = (
            e.cause in ("turn_end", "after_barge_in")
            and seq + 2 < n
            and seq + 1 not in busy
            and shape < LATE_RESPOND_P
        )
        if late:
            action[seq] = IGNORE
            seq += 1
            action[seq] = names.index("respond")
        elif e.cause == "turn_end" and shape < LATE_RESPOND_P + bc_recovery:
            seq = _after_backchannel(seq, n, busy, rng, action, model_text, speaking, names)
        reply[seq] = rid
        if e.cause in TOLERANT_CAUSES:
            for j in (seq - 1, seq + 1):
                if 0 <= j < n and j not in busy and action[j] == names.index("listen"):
                    action[j], reply[j] = IGNORE, rid
        if e.cause in INSTRUCTED_CAUSES:
            ins = [
                x
                for x in scenario.labels.instructions
                if x.kind == INSTRUCTED_CAUSES[e.cause] and x.t <= e.t + 1e-6
            ]
            if ins and ins[-1].channel == "spoken":
                anchor[max(0, seq - 1) : seq + 2] = int(ins[-1].t / MICROTURN_S)
        said = e.text if config.replies[rid] == "@agent" else config.replies[rid]
        model_text[seq + 1] = said
        stop = seq + 1 + math.ceil(spoken_seconds(said) / MICROTURN_S)
        nxt = next((f for f in expected[i + 1 :] if f.seq > e.seq), None)
        if nxt is not None and nxt.action == "yield":
            stop = nxt.seq + 1  # talking until the barge-in is handled
        speaking[seq + 1 : min(stop, n)] = 1.0
    for span in scenario.labels.pauses:
        if span.end - span.start >= PAUSE_BC_MIN_S and rng.random() < bc_recovery:
            _backchannel_in_pause(span, n, busy, rng, action, model_text, speaking, names)
    pause = _pause_mask(scenario.labels.pauses, action, names)
    text = np.zeros((n, config.max_text_bytes), np.int16)
    since = np.zeros(n, np.float32)
    memory = InstructionMemory()  # the same rule as the streaming Featurizer
    for k in range(n):
        events = list(scenario.text_at(k))
        if k in model_text:
            events.append(TextEvent("model", model_text[k]))
        since[k], reminder = memory.update(events, k * MICROTURN_S)
        text[k] = encode_text(events, config.max_text_bytes, reminder)
    return {
        "codes": codes.astype(np.uint8),
        "image": image,
        "has_image": has_image,
        "text": text,
        "speaking": speaking,
        "since_text": since,
        "action": action,
        "reply": reply,
        "anchor": anchor,
        "pause": pause,
    }


def _pause_mask(pauses, action: np.ndarray, names: list[str]) -> np.ndarray:
    """(n,) bool: "listen" targets of the micro-turns decided inside a mid-turn pause."""
    from nbduplex.scenarios.labels import reaction_seq

    mask = np.zeros(len(action), bool)
    for span in pauses:
        mask[reaction_seq(span.start) : reaction_seq(span.end)] = True
    return mask & (action == names.index("listen"))


def _backchannel_in_pause(span, n, busy, rng, action, model_text, speaking, names) -> None:
    """Teacher-force a back-channel at the start of a mid-turn pause; "listen" stays the target
    after it (the back-channel itself is IGNOREd, neither taught nor punished)."""
    from nbduplex.scenarios.labels import reaction_seq

    seq = reaction_seq(span.start)
    word, end = _pick_backchannel(rng, seq)
    listen = names.index("listen")
    if end >= n or any(j in busy or j in model_text for j in range(seq, end + 1)):
        return
    if (action[seq : end + 1] != listen).any():
        return
    _say_backchannel(seq, end, word, action, model_text, speaking)


def _after_backchannel(seq, n, busy, rng, action, model_text, speaking, names) -> int:
    """Teacher-force a back-channel said at `seq`; return the micro-turn of the late answer
    (right after it), or `seq` unchanged when the answer would not fit before other events."""
    word, end = _pick_backchannel(rng, seq)
    if end + 2 >= n or any(j in busy for j in range(seq + 1, end + 2)):
        return seq
    _say_backchannel(seq, end, word, action, model_text, speaking)
    action[seq + 1 : end] = names.index("listen")
    action[end] = names.index("respond")
    return end


def _pick_backchannel(rng: np.random.Generator, seq: int) -> tuple[str, int]:
    """(a back-channel word, the first silent micro-turn after saying it from `seq` + 1)."""
    word = BACKCHANNEL_REPLIES[int(rng.integers(len(BACKCHANNEL_REPLIES)))]
    return word, seq + 1 + math.ceil(spoken_seconds(word) / MICROTURN_S)


def _say_backchannel(seq, end, word, action, model_text, speaking) -> None:
    """The model said `word` from `seq` + 1 to `end`: its text and speaking flag; the decision at
    `seq` is not taught (IGNORE)."""
    action[seq] = IGNORE
    model_text[seq + 1] = word
    speaking[seq + 1 : end] = 1.0
