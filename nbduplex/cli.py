"""The `nbduplex` command line: run, demo, policies, train, eval.

A stable contract for scripts: bad arguments or unreadable inputs print one `nbduplex: error:`
line and exit with status 2; nothing prints a traceback unless `NBDUPLEX_DEBUG=1`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from nbduplex.policy import PolicyError


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is in --help)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="nbduplex",
        description="Full-duplex interaction models: run policies on audio/video/text, 200 ms "
        "micro-turn by micro-turn, and record what they did.",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a policy over an audio (and video/text) input")
    run.add_argument("--audio", help="input audio file (wav/flac/ogg, any rate or channels)")
    run.add_argument("--video", help="input video file (y4m, mp4, webm, ...)")
    run.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="SECONDS:TEXT",
        help="typed user text arriving at SECONDS (repeatable)",
    )
    run.add_argument(
        "--policy",
        default="openai-server-vad",
        help="model, a preset, module:attr, or a checkpoint path (*.pt)",
    )
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--realtime", action="store_true", help="pace the input at wall-clock speed")
    run.add_argument("--voice", default="en-us", help="the model's espeak-ng voice")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    run.add_argument(
        "--documents",
        nargs="+",
        default=[],
        metavar="FILE",
        help="text files the background agent may search when the policy delegates",
    )
    run.add_argument("--no-agent", action="store_true", help="run without the background agent")

    demo = sub.add_parser("demo", help="a synthetic conversation through a policy, with metrics")
    demo.add_argument(
        "--policy", default="openai-server-vad", help="model, a preset, module:attr, or *.pt"
    )
    demo.add_argument("--kind", default="turn_taking", help="scenario kind (see --list-kinds)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--synth",
        default="espeak",
        choices=("espeak", "flite", "festival", "pico"),
        help="the user's voice: espeak (the model's training voices) or a synthesiser it never "
        "trained on (needs the Debian package; PocketSphinx, which transcribes delegated "
        "requests for the agent, hears flite far better than espeak)",
    )
    demo.add_argument("--out", default="nbduplex-demo", help="output directory")
    demo.add_argument("--list-kinds", action="store_true", help="list scenario kinds and exit")

    sub.add_parser("policies", help="list the built-in policy names")

    # train/eval parse their own options (nbduplex train --help), so torch loads only for them
    train = sub.add_parser(
        "train", help="train the interaction model (see MODEL_CARD.md)", add_help=False
    )
    train.add_argument("args", nargs=argparse.REMAINDER)
    reader = sub.add_parser(
        "train-reader",
        help="train the spoken-instruction reader into a checkpoint (see MODEL_CARD.md)",
        add_help=False,
    )
    reader.add_argument("args", nargs=argparse.REMAINDER)
    turn_end = sub.add_parser(
        "train-turn-end",
        help="train the turn-end detector into a checkpoint (see MODEL_CARD.md)",
        add_help=False,
    )
    turn_end.add_argument("args", nargs=argparse.REMAINDER)
    cue = sub.add_parser(
        "train-cue",
        help="train the cue spotter (CueSpeak) into a checkpoint (see MODEL_CARD.md)",
        add_help=False,
    )
    cue.add_argument("args", nargs=argparse.REMAINDER)
    ev = sub.add_parser("eval", help="evaluate policies on held-out scenarios", add_help=False)
    ev.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nbduplex` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    if argv and argv[0] in _OWN_MAINS:  # these parse their own options
        args = argparse.Namespace(command=argv[0], args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (CliError, PolicyError, FileNotFoundError, ValueError, OSError) as e:
        if os.environ.get("NBDUPLEX_DEBUG"):
            raise
        print(f"nbduplex: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nbduplex: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI contract: one line, never a traceback
        if os.environ.get("NBDUPLEX_DEBUG"):
            raise
        print(f"nbduplex: error: {type(e).__name__}: {_one_line(e)}", file=sys.stderr)
        return 1


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


_OWN_MAINS = {
    "train": ("nbduplex.model.train_cli", "train_main"),
    "train-reader": ("nbduplex.model.reader.train_cli", "train_reader_main"),
    "train-turn-end": ("nbduplex.model.turn_end.train_cli", "train_turn_end_main"),
    "train-cue": ("nbduplex.model.cue.train_cli", "train_cue_main"),
    "eval": ("nbduplex.model.evaluate", "eval_main"),
}


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return cmd_run(args)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "policies":
        from nbduplex.policy import policy_names

        print("\n".join(policy_names()))
        return 0
    if args.command in _OWN_MAINS:  # they parse their own options; torch loads only here
        import importlib

        module, name = _OWN_MAINS[args.command]
        getattr(importlib.import_module(module), name)(args.args)
        return 0
    raise CliError(f"unknown command {args.command!r}")


def _make_speaker(voice: str):
    from nbduplex.speaker import Speaker, SpeakerConfig

    return Speaker(SpeakerConfig(voice=voice))


def cmd_run(args: argparse.Namespace) -> int:
    """`nbduplex run`: writes OUT/events.jsonl, OUT/output.wav and the trace in OUT/trace/."""
    from nbduplex.session import Session
    from nbduplex.sources import MediaSource, SourceError, parse_text_arg
    from nbduplex.trace import Trace

    if not args.audio and not args.video:
        raise CliError("give --audio and/or --video")
    for path in (args.audio, args.video):
        if path and not Path(path).is_file():
            raise CliError(f"no such file: {path}")
    texts = [parse_text_arg(s) for s in args.text]
    policy = _resolve(args.policy)
    agent = None if args.no_agent else _make_agent(args.documents)
    out = _prepare_out(Path(args.out), overwrite=args.overwrite)
    try:
        source = MediaSource(audio=args.audio, video=args.video, text=texts)
    except SourceError as e:
        raise CliError(str(e)) from e
    trace = Trace(
        out / "trace",
        meta={"policy": args.policy, "audio": args.audio, "video": args.video, "text": args.text},
    )
    session = Session(
        source,
        policy,
        trace=trace,
        speaker=_make_speaker(args.voice),
        agent=agent,
        realtime=args.realtime,
    )
    try:
        session.run()
    except SourceError as e:
        raise CliError(str(e)) from e
    trace.write_events_jsonl(out / "events.jsonl")
    trace.write_output_wav(out / "output.wav")
    counts: dict[str, int] = {}
    for row in trace.rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    print(
        f"{len(trace.rows)} micro-turns ({len(trace.rows) * 0.2:.1f} s) with {args.policy}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    print(f"wrote {out / 'events.jsonl'}, {out / 'output.wav'}, {out / 'trace'}/")
    return 0


def _make_agent(documents: list[str]):
    from nbduplex.agent import BackgroundAgent, DocumentIndex

    index = DocumentIndex()
    for path in documents:
        p = Path(path)
        try:
            index.add(p.name, p.read_text(encoding="utf-8", errors="replace"))
        except OSError as e:
            raise CliError(f"cannot read document {path}: {e.strerror or e}") from e
    return BackgroundAgent(documents=index if documents else None)


def _prepare_out(out: Path, *, overwrite: bool) -> Path:
    """Create OUT; an earlier run's trace there is replaced only with `overwrite`."""
    import shutil

    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a directory")
    trace_dir = out / "trace"
    if trace_dir.exists() and any(trace_dir.iterdir()):
        if not overwrite:
            raise CliError(f"{out} already holds a run; pass --overwrite or choose another --out")
        if not (trace_dir / "meta.json").exists():
            raise CliError(f"{trace_dir} is not an nbduplex trace; refusing to replace it")
        shutil.rmtree(trace_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _resolve(name: str):
    from nbduplex.policy import resolve_policy

    return resolve_policy(name)


def cmd_demo(args: argparse.Namespace) -> int:
    """`nbduplex demo`: a synthetic conversation, its metrics and a timeline PNG."""
    from nbduplex.metrics import evaluate, summarize
    from nbduplex.model.evaluate import task_scores
    from nbduplex.plots import plot_timeline
    from nbduplex.scenarios import SCENARIO_KINDS, generate_scenario
    from nbduplex.session import Session
    from nbduplex.trace import Trace

    if args.list_kinds:
        print("\n".join(sorted(SCENARIO_KINDS)))
        return 0
    if args.kind not in SCENARIO_KINDS:
        raise CliError(f"unknown scenario kind {args.kind!r}; choose from {sorted(SCENARIO_KINDS)}")
    from nbduplex.tts import TTSError, synthesize

    try:  # a missing synthesiser says how to install it
        synthesize("hello", synth=args.synth)
    except TTSError as e:
        raise CliError(str(e)) from e
    policy = _resolve(args.policy)
    out = _prepare_out(Path(args.out), overwrite=True)
    voices = "train" if args.synth == "espeak" else None
    scenario = generate_scenario(
        args.kind, seed=args.seed, synth=args.synth, voices=voices, simulate_agent=False
    )
    scenario.write(out / "input")
    trace = Trace(
        out / "trace", meta={"policy": args.policy, "scenario": args.kind, "seed": args.seed}
    )
    Session(scenario.source(), policy, trace=trace, agent=_make_agent([])).run()
    trace.write_events_jsonl(out / "events.jsonl")
    trace.write_output_wav(out / "output.wav")
    labels = scenario.labels.to_dict() if hasattr(scenario.labels, "to_dict") else scenario.labels
    metrics = evaluate(trace.rows, labels)
    # the task scores (TimeSpeak, CueSpeak, counting, ...) that this kind has events for
    tasks = {
        k: v
        for k, v in task_scores(list(trace.rows), scenario.labels).items()
        if v and k not in ("interject_false", "delegate_true", "visual_latency")
    }
    metrics["tasks"] = {k: {"mean": float(sum(v) / len(v)), "n": len(v)} for k, v in tasks.items()}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    fig = plot_timeline(trace, labels=labels)
    fig.savefig(out / "timeline.png", dpi=110, bbox_inches="tight")
    print(
        f"scenario {args.kind!r} (seed {args.seed}, {args.synth}), "
        f"{len(trace.rows) * 0.2:.1f} s, policy {args.policy}"
    )
    for key, value in summarize(metrics).items():
        print(f"  {key:<28} {value:8.3f}" if isinstance(value, float) else f"  {key:<28} {value}")
    for key, v in metrics["tasks"].items():
        print(f"  {key:<28} {v['mean']:8.3f}  ({v['n']} event{'s' * (v['n'] != 1)})")
    print(f"wrote {out}/timeline.png, events.jsonl, output.wav, metrics.json, trace/, input/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
