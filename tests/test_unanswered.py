"""The unanswered-turn state (`model/unanswered.py`): when the model answers a turn it let pass."""

from __future__ import annotations

from nbduplex.model.unanswered import (
    DELEGATION_PATIENCE_TURNS,
    INSTRUCTED_QUIET_TURNS,
    SILENCE_ANSWER_TURNS,
    UnansweredTurn,
)


def _spoke(u: UnansweredTurn, turns: int = 3, **kw) -> None:
    """The user speaks for `turns` micro-turns."""
    for _ in range(turns):
        u.hear(True, False, kw.get("read", False), kw.get("instructed", False), 0)


def _silent(u: UnansweredTurn, results: int = 0) -> None:
    u.hear(False, False, False, False, results)


def test_a_silence_is_answered_after_silence_turns():
    u = UnansweredTurn()
    assert not u.answer(False)  # nobody spoke yet
    _spoke(u)
    for k in range(1, SILENCE_ANSWER_TURNS + 1):
        _silent(u)
        assert u.answer(False) == (k == SILENCE_ANSWER_TURNS)
    assert not u.answer(True)  # the model speaks, or holds an answer of its own
    u.acted(True)
    assert not u.pending and not u.answer(False)


def test_speech_while_the_model_speaks_or_an_instruction_read_leaves_nothing_to_answer():
    u = UnansweredTurn()
    u.hear(True, True, False, False, 0)  # the user over the model's own words
    assert not u.pending
    _spoke(u, read=True, instructed=True)  # an instruction the reader read
    assert not u.pending


def test_nothing_is_answered_soon_after_an_instruction():
    u = UnansweredTurn()
    u.hear(False, False, False, True, 0)  # a typed instruction
    _spoke(u)
    for _ in range(INSTRUCTED_QUIET_TURNS - 4):
        _silent(u)
        assert u.answer(False) is False
    _silent(u)
    assert u.answer(False) is True


def test_a_silent_delegation_waits_for_its_result():
    u = UnansweredTurn()
    _spoke(u)
    u.delegated(False, results=0)
    for _ in range(DELEGATION_PATIENCE_TURNS - 1):
        _silent(u)
        assert u.pending and u.answer(False) is False
    _silent(u)
    assert u.answer(False) is True  # no result came: answered after all

    u = UnansweredTurn()
    _spoke(u)
    u.delegated(False, results=0)
    _silent(u, results=1)  # the result came: the model says it
    assert not u.pending

    u = UnansweredTurn()
    _spoke(u)
    u.delegated(True, results=0)  # "Let me check that." answered the turn
    assert not u.pending


def test_reset_forgets_the_session():
    u = UnansweredTurn()
    _spoke(u)
    u.delegated(False, 0)
    u.reset()
    assert not u.pending and not u.answer(False)


def test_no_silence_answer_when_turned_off():
    u = UnansweredTurn(silence_turns=0)
    _spoke(u)
    for _ in range(3 * SILENCE_ANSWER_TURNS):
        _silent(u)
        assert not u.answer(False)
