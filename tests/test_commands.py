"""The instruction grammar shared by the scenario kinds and the spoken-instruction reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbduplex.scenarios import generate_scenario, text
from nbduplex.scenarios.commands import NUMBERS, SLOTS, TEMPLATES, VOCAB, Command, parse


@st.composite
def commands(draw):
    template = draw(st.sampled_from(TEMPLATES[1:]))
    return Command(template, **{s: draw(st.sampled_from(VOCAB[s])) for s in SLOTS[template]})


@given(commands())
def test_typed_and_spoken_forms_parse_back(cmd):
    assert parse(cmd.typed) == cmd
    assert parse(cmd.spoken) == cmd
    assert parse(text.cap(cmd.spoken)) == cmd
    assert cmd.spoken.endswith(".") and not any(c.isdigit() for c in cmd.spoken)


def test_examples_and_rejections():
    assert Command("in", word="go", number=5).typed == "say go in 5 seconds"
    assert Command("in", word="go", number=5).spoken == "say go in five seconds."
    assert parse("Say tick every three seconds.") == Command("every", word="tick", number=3)
    assert parse("say go in 40 seconds") is None  # outside the grammar's numbers
    assert parse("say banana when I say go") is None  # "banana" is not a word to say
    assert parse("what do you think about that?") is None
    assert Command("none").typed == "" and Command("none").spoken == ""
    with pytest.raises(ValueError, match="needs number"):
        Command("in", word="go", number=99)
    with pytest.raises(ValueError, match="unknown template"):
        Command("sing")
    assert min(NUMBERS) == 2 and max(NUMBERS) == 8


@pytest.mark.parametrize("kind", ["timespeak", "cuespeak", "visual_event", "counting"])
def test_scenario_instructions_are_in_the_grammar(kind):
    seen = 0
    for seed in range(12):
        for ins in generate_scenario(kind, seed, frames_per_turn=0).labels.instructions:
            cmd = parse(ins.text)
            assert cmd is not None, ins.text
            assert (cmd.typed if ins.channel == "typed" else text.cap(cmd.spoken)) == ins.text
            seen += 1
    assert seen >= 5 or kind == "visual_event"
