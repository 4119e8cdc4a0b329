"""The `vibevoice-asr-web` command line: one subcommand per module, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback

from vibevoice_asr_web import __version__
from vibevoice_asr_web.errors import Terminated, UserError

# name -> (module, one-line help). Each module defines add_arguments(parser) and run(args) -> int,
# and keeps heavy imports (torch) inside run, so `--help` stays fast and the runtime never loads torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "make-tiny": ("vibevoice_asr_web.fixtures.tiny_checkpoint", "Write the small deterministic VibeVoice-ASR checkpoint used by the tests"),
    "export": ("vibevoice_asr_web.export.command", "Export a checkpoint to an ONNX artifact folder (Transformers.js layout)"),
    "quantize": ("vibevoice_asr_web.quantize.command", "Write fp16 / q4 / q4f16 variants of an fp32 artifact folder, streaming its weights"),
    "validate": ("vibevoice_asr_web.parity.fp32_vs_pytorch", "Compare an artifact folder with PyTorch (fp32) or with fp32 (other dtypes)"),
    "make-synthetic": ("vibevoice_asr_web.fixtures.synthetic_checkpoint", "Write a checkpoint with the real configuration, random bf16 weights and N decoder layers"),
    "size-report": ("vibevoice_asr_web.size_report", "Print every variant's size and browser memory for the real model, from its config"),
    "serve": ("vibevoice_asr_web.serve", "Serve the web demo and an artifact folder on 127.0.0.1"),
    "transcribe": ("vibevoice_asr_web.runtime.transcribe", "Transcribe audio files with onnxruntime (no torch): JSON, SRT, VTT or text"),
    "reference": ("vibevoice_asr_web.runtime.reference", "Write reference.json (ids, text, first-step logits per dtype) for the browser tests"),
    "describe-artifact": ("vibevoice_asr_web.artifact.description", "Write the artifact contract (graphs, dtypes, limits, defaults) as JSON, as the web library reads it"),
    "publish": ("vibevoice_asr_web.release.command", "Build, check (sha256, contract, sizes, parity, browser) and publish artifacts to the Hub in one commit"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command is listed; only `command`'s module is imported (each pulls in its own stack)."""
    parser = argparse.ArgumentParser(
        prog="vibevoice-asr-web",
        description="Export Microsoft's VibeVoice-ASR to ONNX for Transformers.js on WebGPU, "
        "validate and quantize it, and transcribe audio with onnxruntime.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error (also accepted after the command)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(_run=module.run)
    return parser


def _raise_terminated(signum, frame) -> None:
    raise Terminated(signum)


def describe_unexpected(error: BaseException) -> str:
    """One line for an error no check caught: what happened, and that --debug shows where."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    if isinstance(error, MemoryError):
        return "out of memory: close other programs, or use a machine with more memory"
    return f"unexpected {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    # onnxruntime otherwise tries to write a telemetry id under HOME and warns on stderr when it cannot.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv  # accepted before or after the command
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser(next((a for a in argv if a in COMMANDS), None))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return guarded(f"vibevoice-asr-web {args.command}", lambda: args._run(args), debug)


def guarded(prefix: str, call, debug: bool = False, interrupted: str = "interrupted") -> int:
    """Runs a command: a UserError is one line, a signal cleans up, and anything else is one line too."""
    for signum in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl+C: partial output and scratch are removed
        signal.signal(signum, _raise_terminated)
    try:
        return int(call() or 0)
    except UserError as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prefix}: {interrupted}", file=sys.stderr)
        return 130
    except Terminated as stop:
        print(f"{prefix}: stopped by signal {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    except Exception as error:  # the last resort: each case a user can cause has its own message above
        if debug:
            traceback.print_exc()
        print(f"{prefix}: error: {describe_unexpected(error)}", file=sys.stderr)
        if not debug:
            print(f"{prefix}: rerun with --debug for the details, and report it if it looks like a bug", file=sys.stderr)
        return 1

if __name__ == "__main__":
    sys.exit(main())
