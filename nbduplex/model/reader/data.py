"""Training data for the instruction reader: rendered utterances cut by the run-time segmenter.

A reader scenario is 1-3 user utterances in one random voice and acoustic setting (the scenario
generator's rooms, noise, levels and, for a share of seeds, a narrowband channel); half of them
are spoken instructions of the grammar (scenarios/commands.py), the rest ordinary speech from the
scenario text lists. The audio goes through `UtteranceSegmenter` exactly as at run time, and each
candidate it offers is labelled with the instruction it ends with, or "none" (a partial
instruction, ordinary speech, or an instruction followed by more speech).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbduplex.microturn import split_chunks
from nbduplex.model.reader.network import log_mel
from nbduplex.model.reader.segmenter import UtteranceSegmenter
from nbduplex.scenarios import text
from nbduplex.scenarios.builder import Builder, ScenarioConfig
from nbduplex.scenarios.commands import SLOTS, TEMPLATES, VOCAB, Command, parse

END_MARGIN_S = 0.35  # an instruction counts when it ends this close to the candidate's end
IGNORE = -100  # slot target of a template that does not use the slot


def random_command(rng: np.random.Generator) -> Command:
    """A uniformly drawn instruction template with uniform slots."""
    template = TEMPLATES[1 + int(rng.integers(len(TEMPLATES) - 1))]
    slots = {s: VOCAB[s][int(rng.integers(len(VOCAB[s])))] for s in SLOTS[template]}
    return Command(template, **slots)


def ordinary_speech(rng: np.random.Generator) -> str:
    """Something a user says that is not an instruction (some of it shares its words)."""
    forms = [
        lambda: text.final_sentence(rng),
        lambda: text.cap(text.continuing_fragment(rng)),
        lambda: " ".join(text.narrative(rng, int(rng.integers(1, 3)))),
        lambda: text.cap(text.pick(rng, text.INTERRUPTIONS)),
        lambda: text.arithmetic(rng)[0],
        lambda: f"And then {text.article(c := text.pick(rng, text.CUE_WORDS))} {c} showed up.",
        lambda: text.cap(f"{text.clause(rng)} with a {text.pick(rng, text.COLOR_NAMES)} one."),
        lambda: (
            f"I {text.pick(rng, ['said', 'thought', 'heard'])} "
            f"{text.pick(rng, text.SAY_WORDS)} {text.pick(rng, ['twice', 'again', 'before'])}."
        ),
    ]
    return forms[int(rng.integers(len(forms)))]()


def reader_scenario(seed: int, config: ScenarioConfig, p_instruction: float = 0.5):
    """(Scenario, its instruction segments) for one seed."""
    b = Builder("reader", int(seed), config)
    rng = b.rng
    b.wait(float(rng.uniform(0.3, 1.0)))
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < p_instruction:
            b.say(text.cap(random_command(rng).spoken), role="instruction")
        else:
            b.say(ordinary_speech(rng), role="turn")
        b.wait(float(rng.uniform(0.1, 1.5)))
    scenario = b.build()
    return scenario, [s for s in scenario.labels.speech if s.role == "instruction"]


@dataclass
class Crop:
    """One candidate utterance and its target."""

    features: np.ndarray  # (frames, 80) float16
    command: Command | None  # the instruction it ends with (None: not an instruction)
    start: float  # s, in its scenario
    end: float


def crops(scenario, instructions, segmenter: UtteranceSegmenter | None = None) -> list[Crop]:
    """The segmenter's candidates in `scenario`, labelled."""
    seg = segmenter or UtteranceSegmenter()
    seg.reset()
    out = []
    for chunk in split_chunks(scenario.audio):
        audio = seg.push(chunk)
        if audio is None:
            continue
        start, end = seg.span(audio)
        command = None
        for ins in instructions:
            ins_end = ins.words[-1][2] if ins.words else ins.end
            if ins.start >= start - 0.05 and end - END_MARGIN_S <= ins_end <= end + 0.01:
                command = parse(ins.text)
        out.append(Crop(log_mel(audio), command, start, end))
    return out


def targets(command: Command | None) -> dict[str, int]:
    """Class indices: "template" and one per slot (IGNORE where the template has no such slot)."""
    t = {"template": TEMPLATES.index(command.template if command else "none")}
    for slot, vocab in VOCAB.items():
        used = command is not None and slot in SLOTS[command.template]
        t[slot] = vocab.index(getattr(command, slot)) if used else IGNORE
    return t
