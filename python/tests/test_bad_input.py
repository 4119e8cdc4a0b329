"""Every command under bad input and faults, as a hostile user would try it: one table.

Each case runs the CLI in this process on fresh copies of the tiny checkpoint, its fp32 artifacts and
a clip, then asserts the exit code, one clear message (no traceback), and that every input file is
byte for byte what it was, with nothing added or removed beside it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vibevoice_asr_web import cli

from vibevoice_asr_web.artifact import manifest


@dataclass
class Env:
    root: Path
    ckpt: Path
    fp32: Path
    clips: Path

    @property
    def wav(self) -> Path:
        return self.clips / "hello.wav"

    def inputs(self) -> list[Path]:
        return [self.ckpt, self.fp32, self.clips]


@dataclass
class Case:
    id: str
    argv: Callable[[Env], list]
    message: str  # a regular expression the error line must match
    code: int = 1
    setup: Callable[[Env, pytest.MonkeyPatch], None] | None = None
    checks: list[Callable[[Env], None]] = field(default_factory=list)


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if at is None else at
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def resign(folder: Path, name: str, text: str) -> None:
    """Rewrites a file and its manifest entry, so the content itself (not its hash) is what is tested."""
    (folder / name).write_text(text)
    info = json.loads((folder / manifest.MANIFEST).read_text())
    info["files"][name] = {"sha256": manifest.sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
    (folder / manifest.MANIFEST).write_text(json.dumps(info))


def edit_json(folder: Path, name: str, change: Callable[[dict], object], sign: bool = True) -> None:
    """`change` edits the parsed file in place."""
    value = json.loads((folder / name).read_text())
    change(value)
    if sign:
        resign(folder, name, json.dumps(value))
    else:
        (folder / name).write_text(json.dumps(value))


def edit_manifest(change: Callable[[dict], object]) -> Callable[[Env, pytest.MonkeyPatch], None]:
    return lambda env, mp: edit_json(env.fp32, manifest.MANIFEST, change, sign=False)


def edit_config(folder_of: Callable[[Env], Path], change: Callable[[dict], object]) -> Callable[[Env, pytest.MonkeyPatch], None]:
    return lambda env, mp: edit_json(folder_of(env), "config.json", change, sign=folder_of(env) != env.ckpt)


def raise_in(target: str, error: BaseException) -> Callable[[Env, pytest.MonkeyPatch], None]:
    def setup(env, mp):
        def fail(*args, **kwargs):
            raise error

        mp.setattr(target, fail)

    return setup


def fp32(env: Env) -> Path:
    return env.fp32


def ckpt(env: Env) -> Path:
    return env.ckpt


def transcribe(*extra) -> Callable[[Env], list]:
    return lambda env: ["transcribe", env.wav, "--onnx-dir", env.fp32, *[e(env) if callable(e) else e for e in extra]]


def a_file(env: Env) -> Path:
    path = env.root / "a_file"
    path.write_text("x")
    return path


def busy_port(env: Env) -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    env.busy = sock  # kept open for the case
    return str(sock.getsockname()[1])


def non_empty(env: Env) -> Path:
    out = env.root / "taken"
    out.mkdir(exist_ok=True)
    (out / "keep.txt").write_text("mine")
    return out


def taken_is_kept(env: Env) -> None:
    assert (env.root / "taken" / "keep.txt").read_text() == "mine"


def nothing_at(name: str) -> Callable[[Env], None]:
    def check(env):
        leftovers = [p.name for p in env.root.iterdir() if p.name == name or p.name.startswith(f".{name}.")]
        assert not leftovers, leftovers

    return check


OUT = lambda env: env.root / "out"  # noqa: E731
DISK_FULL = OSError(errno.ENOSPC, "No space left on device")
READ_ONLY = OSError(errno.EROFS, "Read-only file system")

CASES = [
    # 1. No command destroys its own input (checked before any work, --overwrite or not).
    Case("export-into-checkpoint", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", e.ckpt, "--overwrite"], r"is the checkpoint"),
    Case("export-inside-checkpoint", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", e.ckpt / "sub", "--overwrite"], r"lies inside the checkpoint"),
    Case("export-over-checkpoint-parent", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", e.root, "--overwrite"], r"contains the checkpoint"),
    Case("export-q4-into-checkpoint", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", e.ckpt, "--dtype", "q4", "--overwrite"], r"is the checkpoint"),
    Case("export-over-audio", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", e.clips, "--audio", e.wav, "--overwrite"], r"contains the audio file"),
    Case("quantize-into-input", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", e.fp32, "--dtype", "q4", "--overwrite"], r"is the fp32 input folder"),
    Case("quantize-inside-input", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", e.fp32 / "onnx", "--dtype", "q4", "--overwrite"], r"lies inside the fp32 input folder"),
    Case("quantize-over-input-parent", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", e.root, "--dtype", "q4", "--overwrite"], r"contains the fp32 input folder"),
    Case("quantize-over-audio", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", e.clips, "--dtype", "q4", "--audio", e.wav, "--overwrite"], r"contains the audio file"),
    Case("quantize-via-symlink", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", e.root / "link", "--dtype", "q4", "--overwrite"], r"is the fp32 input folder",
         setup=lambda e, mp: (e.root / "link").symlink_to(e.fp32)),
    Case("make-tiny-into-fit-audio", lambda e: ["make-tiny", "--output-dir", e.clips, "--fit-audio", e.clips, "--overwrite"], r"is the --fit-audio"),
    Case("make-tiny-over-fit-audio", lambda e: ["make-tiny", "--output-dir", e.root, "--fit-audio", e.clips, "--overwrite"], r"contains the --fit-audio"),
    Case("transcribe-output-is-audio", transcribe("--output", lambda e: e.wav), r"is the input file"),
    Case("transcribe-output-in-artifacts", transcribe("--output", lambda e: e.fp32 / "config.json"), r"lies inside the artifact folder"),
    Case("transcribe-output-is-folder", transcribe("--output", lambda e: e.fp32), r"is a folder: expected a file path"),
    Case("transcribe-output-device", transcribe("--output", "/dev/null"), r"not a regular file"),
    Case("reference-output-is-audio", lambda e: ["reference", "--onnx-dir", e.fp32, "--audio", e.wav, "--output", e.wav], r"is the input file"),
    Case("reference-output-in-artifacts", lambda e: ["reference", "--onnx-dir", e.fp32, "--audio", e.wav, "--output", e.fp32 / "ref.json"], r"lies inside the artifact folder"),
    Case("publish-work-is-fp32", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--fp32-dir", e.fp32, "--work-dir", e.fp32], r"is the --fp32-dir"),
    Case("publish-work-inside-variants", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--variants-dir", e.fp32, "--work-dir", e.fp32 / "w"], r"lies inside the --variants-dir"),
    Case("publish-work-over-checkpoint", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--checkpoint", e.ckpt, "--work-dir", e.root], r"contains the checkpoint"),
    Case("publish-work-over-audio", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--audio", e.wav, "--work-dir", e.clips], r"contains the audio file"),
    Case("export-output-is-file", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", a_file(e)], r"exists and is not a folder"),
    Case("export-output-not-empty", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", non_empty(e)], r"not empty: remove it or pass --overwrite", checks=[taken_is_kept]),
    Case("quantize-output-not-empty", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", non_empty(e), "--dtype", "q4"], r"not empty", checks=[taken_is_kept]),
    Case("make-tiny-output-not-empty", lambda e: ["make-tiny", "--output-dir", non_empty(e)], r"not empty", checks=[taken_is_kept]),
    Case("make-synthetic-output-not-empty", lambda e: ["make-synthetic", "--layers", "1", "--output-dir", non_empty(e)], r"not empty", checks=[taken_is_kept]),
    # 3. Every reader verifies what it reads: a flipped byte anywhere is refused with the file's name.
    Case("transcribe-flipped-decoder-data", transcribe(), r"decoder_model_merged\.onnx_data fails its sha256 check",
         setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "decoder_model_merged.onnx_data")),
    Case("transcribe-flipped-config", transcribe(), r"config\.json fails its sha256 check",
         setup=lambda e, mp: flip_byte(e.fp32 / "config.json", at=(e.fp32 / "config.json").read_text().index('"hidden_size"') + 2)),
    Case("transcribe-flipped-tokenizer", transcribe(), r"tokenizer\.json fails its sha256 check", setup=lambda e, mp: flip_byte(e.fp32 / "tokenizer.json")),
    Case("transcribe-flipped-graph", transcribe(), r"audio_encoder\.onnx fails its sha256 check", setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "audio_encoder.onnx")),
    Case("transcribe-truncated-chunk", transcribe(), r"embed_tokens\.onnx_data is [\d,]+ bytes but the manifest says",
         setup=lambda e, mp: (e.fp32 / "onnx" / "embed_tokens.onnx_data").write_bytes((e.fp32 / "onnx" / "embed_tokens.onnx_data").read_bytes()[:-7])),
    Case("transcribe-missing-chunk", transcribe(), r"embed_tokens\.onnx_data is missing", setup=lambda e, mp: (e.fp32 / "onnx" / "embed_tokens.onnx_data").unlink()),
    Case("reference-flipped-embed-data", lambda e: ["reference", "--onnx-dir", e.fp32, "--audio", e.wav, "--output", e.root / "r.json"], r"embed_tokens\.onnx_data fails its sha256",
         setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "embed_tokens.onnx_data")),
    Case("quantize-flipped-encoder-data", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "q4"], r"audio_encoder\.onnx_data fails its sha256",
         setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "audio_encoder.onnx_data"), checks=[nothing_at("out")]),
    Case("quantize-flipped-config", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "fp16"], r"config\.json fails its sha256",
         setup=lambda e, mp: flip_byte(e.fp32 / "config.json", at=(e.fp32 / "config.json").read_text().index('"hidden_size"') + 2), checks=[nothing_at("out")]),
    Case("quantize-flipped-preprocessor", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "fp16"], r"preprocessor_config\.json fails its sha256",
         setup=lambda e, mp: flip_byte(e.fp32 / "preprocessor_config.json", at=3), checks=[nothing_at("out")]),
    Case("validate-flipped-decoder-data", lambda e: ["validate", "--onnx-dir", e.fp32, "--checkpoint", e.ckpt], r"decoder_model_merged\.onnx_data fails its sha256",
         setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "decoder_model_merged.onnx_data")),
    Case("publish-flipped-fp32-dir", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--checkpoint", e.ckpt, "--fp32-dir", e.fp32, "--work-dir", e.root / "w"],
         r"decoder_model_merged\.onnx_data fails its sha256", setup=lambda e, mp: flip_byte(e.fp32 / "onnx" / "decoder_model_merged.onnx_data")),
    # 4. Malformed files: one line that says what is wrong.
    Case("manifest-not-json", transcribe(), r"manifest\.json is damaged", setup=lambda e, mp: (e.fp32 / manifest.MANIFEST).write_text("{not json")),
    Case("manifest-a-list", transcribe(), r"manifest\.json is damaged \(expected an object with a 'files' object\)",
         setup=lambda e, mp: (e.fp32 / manifest.MANIFEST).write_text("[]")),
    Case("manifest-files-a-list", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "q4"], r"expected an object with a 'files' object",
         setup=edit_manifest(lambda m: m.update(files=list(m["files"])))),
    Case("manifest-entry-no-sha", transcribe(), r"the entry for config\.json needs a 64-digit 'sha256'", setup=edit_manifest(lambda m: m["files"]["config.json"].pop("sha256"))),
    Case("manifest-entry-bytes-string", transcribe(), r"non-negative integer 'bytes'", setup=edit_manifest(lambda m: m["files"]["config.json"].update(bytes="12"))),
    Case("manifest-entry-negative-bytes", lambda e: ["validate", "--onnx-dir", e.fp32], r"non-negative integer 'bytes'", setup=edit_manifest(lambda m: m["files"]["config.json"].update(bytes=-1))),
    Case("manifest-path-escapes", transcribe(), r"points outside the folder", setup=edit_manifest(lambda m: m["files"].update({"../x": m["files"]["config.json"]}))),
    Case("manifest-missing", transcribe(), r"has no manifest\.json", setup=lambda e, mp: (e.fp32 / manifest.MANIFEST).unlink()),
    Case("config-wrong-model-type", transcribe(), r"model_type 'llama'; expected 'vibevoice_asr'", setup=edit_config(fp32, lambda c: c.update(model_type="llama"))),
    Case("config-no-text-config", transcribe(), r"config\.json is malformed \(missing key 'text_config'\)", setup=edit_config(fp32, lambda c: c.pop("text_config"))),
    Case("config-text-config-a-list", transcribe(), r"config\.json is malformed", setup=edit_config(fp32, lambda c: c.update(text_config=[1, 2]))),
    Case("config-negative-width", transcribe(), r"sizes must be positive integers", setup=edit_config(fp32, lambda c: c["text_config"].update(hidden_size=-64))),
    Case("config-width-a-string", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "q4"], r"config\.json is malformed",
         setup=edit_config(fp32, lambda c: c["text_config"].update(num_attention_heads="4"))),
    Case("config-not-json", transcribe(), r"config\.json is not valid JSON", setup=lambda e, mp: resign(e.fp32, "config.json", "{oops")),
    Case("config-a-string", transcribe(), r"model_type 'str'", setup=lambda e, mp: resign(e.fp32, "config.json", '"hello"')),
    Case("generation-config-a-list", transcribe(), r"generation_config\.json holds a JSON list", setup=lambda e, mp: resign(e.fp32, "generation_config.json", "[1]")),
    Case("generation-config-bad-limit", transcribe(), r"positive max_new_tokens",
         setup=lambda e, mp: edit_json(e.fp32, "generation_config.json", lambda g: g.update(max_new_tokens="many"))),
    Case("preprocessor-hop-mismatch", transcribe(), r"pads to 640 samples, but the encoders' hop is 3200",
         setup=lambda e, mp: edit_json(e.fp32, "preprocessor_config.json", lambda c: c.update(pad_to_multiple_of=640))),
    Case("preprocessor-bad-rate", transcribe(), r"preprocessor_config\.json is malformed: expected a positive integer sampling_rate",
         setup=lambda e, mp: edit_json(e.fp32, "preprocessor_config.json", lambda c: c.update(sampling_rate="24k"))),
    Case("tokenizer-config-a-list", transcribe(), r"tokenizer_config\.json holds a JSON list", setup=lambda e, mp: resign(e.fp32, "tokenizer_config.json", "[]")),
    Case("export-checkpoint-config-not-json", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)], r"config\.json is not valid JSON",
         setup=lambda e, mp: (e.ckpt / "config.json").write_text("{")),
    Case("export-checkpoint-no-text-config", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)], r"missing key 'text_config'",
         setup=edit_config(ckpt, lambda c: c.pop("text_config"))),
    Case("export-checkpoint-wrong-type", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)], r"expected 'vibevoice_asr'",
         setup=edit_config(ckpt, lambda c: c.update(model_type="whisper"))),
    Case("export-checkpoint-half-original", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)],
         r"malformed for the original VibeVoice-ASR layout \(missing key 'acoustic_tokenizer_config'\)",
         setup=edit_config(ckpt, lambda c: c.update(model_type="vibevoice"))),
    Case("export-checkpoint-without-tokenizer", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)],
         r"holds no tokenizer\.json, preprocessor_config\.json, which the artifacts need.*copy them from microsoft/VibeVoice-ASR-HF",
         setup=lambda e, mp: [(e.ckpt / name).unlink() for name in ("tokenizer.json", "preprocessor_config.json")], checks=[nothing_at("out")]),
    Case("export-checkpoint-without-config", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e)], r"config\.json",
         setup=lambda e, mp: (e.ckpt / "config.json").unlink()),
    # 4. Outputs that can't be written: unwritable, read-only, full disk, a file in the path.
    Case("quantize-output-under-a-file", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", a_file(e) / "out", "--dtype", "q4"], r"is a file, not a folder|cannot create"),
    Case("transcribe-output-under-a-file", transcribe("--output", lambda e: a_file(e) / "t.json"), r"not a folder you can write to"),
    Case("make-synthetic-output-in-sys", lambda e: ["make-synthetic", "--layers", "1", "--output-dir", "/sys/vibevoice-test/out"], r"cannot (create|write) /sys/vibevoice-test"),
    Case("quantize-disk-full", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "fp16", "--no-validate"], r"the disk is full",
         setup=raise_in("vibevoice_asr_web.quantize.folder.copy_metadata", DISK_FULL), checks=[nothing_at("out")]),
    Case("quantize-read-only", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "fp16", "--no-validate"], r"the file system is read-only",
         setup=raise_in("vibevoice_asr_web.quantize.folder.copy_metadata", READ_ONLY), checks=[nothing_at("out")]),
    Case("transcribe-output-disk-full", transcribe("--output", lambda e: e.root / "t.json"), r"disk is full",
         setup=raise_in("vibevoice_asr_web.atomic.os.fsync", DISK_FULL), checks=[nothing_at("t.json")]),
    Case("make-tiny-disk-full", lambda e: ["make-tiny", "--output-dir", OUT(e)], r"the disk is full",
         setup=raise_in("vibevoice_asr_web.fixtures.tiny_checkpoint._write_checkpoint", DISK_FULL), checks=[nothing_at("out")]),
    # 4. Bad arguments.
    Case("make-synthetic-zero-layers", lambda e: ["make-synthetic", "--layers", "0", "--output-dir", OUT(e)], r"--layers 0: expected at least 1"),
    Case("make-synthetic-negative-layers", lambda e: ["make-synthetic", "--layers", "-3", "--output-dir", OUT(e)], r"--layers -3: expected at least 1"),
    Case("make-synthetic-zero-shard", lambda e: ["make-synthetic", "--layers", "1", "--shard-gb", "0", "--output-dir", OUT(e)], r"--shard-gb 0: expected"),
    Case("make-synthetic-negative-seed", lambda e: ["make-synthetic", "--layers", "1", "--seed", "-1", "--output-dir", OUT(e)], r"--seed -1"),
    Case("publish-work-dir-is-file", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--work-dir", a_file(e)], r"--work-dir .* is a file"),
    Case("serve-negative-port", lambda e: ["serve", "--port", "-1", "--model-dir", e.fp32, "--bundle-dir", e.clips], r"port", code=2),
    Case("serve-port-out-of-range", lambda e: ["serve", "--port", "70000", "--model-dir", e.fp32, "--bundle-dir", e.clips], r"port", code=2),
    Case("serve-busy-port", lambda e: ["serve", "--port", busy_port(e), "--model-dir", e.fp32, "--bundle-dir", e.clips], r"port \d+ is in use",
         setup=lambda e, mp: (e.clips / "index.html").write_text("<html></html>")),
    Case("quantize-bad-block-size", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "q4", "--block-size", "7"], r"invalid choice", code=2),
    Case("quantize-zero-slab", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "q4", "--slab-mb", "0"], r"--slab-mb 0: expected at least 1"),
    Case("quantize-fp32-dtype", lambda e: ["quantize", "--input-dir", e.fp32, "--output-dir", OUT(e), "--dtype", "fp32"], r"fp32 is what the quantizer reads"),
    Case("export-unknown-dtype", lambda e: ["export", "--checkpoint", e.ckpt, "--output-dir", OUT(e), "--dtype", "q8"], r"unknown dtype 'q8'"),
    Case("transcribe-absent-variant", transcribe("--dtype", "q4"), r"no q4 variant"),
    Case("transcribe-missing-audio", lambda e: ["transcribe", e.root / "nope.wav", "--onnx-dir", e.fp32], r"nope\.wav"),
    Case("transcribe-zero-max-tokens", transcribe("--max-new-tokens", "0"), r"expected a positive number", code=2),
    Case("publish-bad-repo-id", lambda e: ["publish", "--repo-id", "no slash", "--dry-run"], r"expected a Hub model repo id"),
    Case("publish-top1-over-one", lambda e: ["publish", "--repo-id", "me/x", "--dry-run", "--min-top1", "2"], r"expected a fraction between 0 and 1"),
    # 4. A prompt longer than the model's context is refused before decoding, saying what fits.
    Case("transcribe-beyond-context", transcribe(), r"the prompt is \d+ tokens, but this model's context holds 20 .* minutes of audio",
         setup=edit_config(fp32, lambda c: c["text_config"].update(max_position_embeddings=20))),
    # The last-resort net: anything unforeseen is one line, with --debug for the traceback.
    Case("unexpected-error", transcribe(), r"unexpected RuntimeError: boom",
         setup=raise_in("vibevoice_asr_web.runtime.pipeline.Transcriber.prompt_ids", RuntimeError("boom"))),
]


def tree_hashes(paths: list[Path]) -> dict[str, str]:
    hashes = {}
    for root in paths:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                hashes[str(path)] = "dir"
    return hashes


@pytest.fixture
def env(tmp_path, tiny_checkpoint, fp32_artifacts, test_audio_dir):
    root = tmp_path / "work"
    root.mkdir()
    env = Env(root, root / "ckpt", root / "fp32", root / "clips")
    shutil.copytree(tiny_checkpoint, env.ckpt)
    shutil.copytree(fp32_artifacts, env.fp32)
    env.clips.mkdir()
    shutil.copyfile(test_audio_dir / "hello.wav", env.wav)
    shutil.copyfile(test_audio_dir / "transcripts.json", env.clips / "transcripts.json")
    for path in (env.ckpt, env.fp32):  # copies of Bazel outputs keep their read-only modes
        for item in [path, *path.rglob("*")]:
            item.chmod(0o755 if item.is_dir() else 0o644)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield env
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_at_least_sixty_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, env: Env, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if case.setup:
        case.setup(env, monkeypatch)
    argv = [str(a) for a in case.argv(env)]
    before = tree_hashes(env.inputs())
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    finally:
        getattr(env, "busy", None) and env.busy.close()
    out, err = capsys.readouterr()
    assert code == case.code, f"exit {code}, stderr:\n{err}"
    assert "Traceback" not in out + err, err
    assert re.search(case.message, err), f"expected /{case.message}/ in:\n{err}"
    if case.code == 1:
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert len(errors) == 1, err  # one line that says it all
    assert tree_hashes(env.inputs()) == before, "an input changed"
    for check in case.checks:
        check(env)


def test_debug_shows_the_traceback_of_an_unexpected_error(env, capsys, monkeypatch):
    raise_in("vibevoice_asr_web.runtime.pipeline.Transcriber.prompt_ids", RuntimeError("boom"))(env, monkeypatch)
    assert cli.main([*map(str, transcribe()(env)), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err and "rerun with --debug" not in err


def test_no_verify_skips_the_hashes_and_says_what_it_risks(env, capsys):
    text = (env.fp32 / "tokenizer_config.json").read_text()
    flip_byte(env.fp32 / "tokenizer_config.json", at=text.index("clean_up_tokenization_spaces"))  # only the hash can tell
    assert cli.main([*map(str, transcribe()(env)), "--no-verify"]) == 0
    assert "fails its sha256" not in capsys.readouterr().err
    for command in ("quantize", "validate", "transcribe", "reference", "publish"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "--no-verify" in (help_text := " ".join(capsys.readouterr().out.split())) and "goes unnoticed" in help_text, command
