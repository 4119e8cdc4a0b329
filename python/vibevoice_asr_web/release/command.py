"""`bazel run //tools/release:publish -- --repo-id OWNER/NAME` (also `vibevoice-asr-web publish`):
build the artifacts, pass every gate, write the model card, and upload it all in one Hub commit."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vibevoice_asr_web import __version__, runfiles

from vibevoice_asr_web.artifact import check, contract, manifest
from vibevoice_asr_web.checkpoint_source import HUB_ID
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.parity.thresholds import FP16_MIN_COSINE, FP32_MIN_COSINE, MIN_TOP1
from vibevoice_asr_web.progress import Progress

ALL_DTYPES = "fp32,fp16,q4,q4f16"
PROG = "bazel run //tools/release:publish --"

EPILOG = f"""\
steps (each skipped on a rerun when its inputs and outputs are unchanged; state in WORK/state.json):
  build    export the checkpoint to fp32 and quantize the other variants in WORK/build
           (or reuse folders: --fp32-dir bazel-bin/models/fp32 --variants-dir bazel-bin/models/int4)
  stage    WORK/release: exactly the files of the commit, with their manifest.json
  gates    files     every file's size and sha256 against the manifest
           contract  graph inputs/outputs as contract.graph_specs; ir_version <= 10
           buffers   no tensor over 1 GiB in fp16 / q4 / q4f16
           chunks    every .onnx_data chunk <= 2 GB (fp32 exempt), all announced in config.json
           parity    fp32 vs PyTorch: cosine >= {FP32_MIN_COSINE} and identical greedy tokens (when it fits in
                     memory); fp16 vs fp32: cosine >= {FP16_MIN_COSINE}; q4 / q4f16 vs fp32: top-1 agreement >= {MIN_TOP1}
                     (--min-top1 changes it)
           browser   bazel test //e2e:webgpu //e2e:webgpu_f16 on the release folder: Chromium on SwiftShader, and
                     the web library in Node on lavapipe, which has shader-f16 (a variant no suite
                     can run is skipped with the reason)
           any FAIL: nothing is uploaded, and the table says which gate and variant failed
  card     README.md: source, revision, license, variants, metrics, devices, usage
  upload   one commit (huggingface_hub create_commit), the repo created if needed; token from
           HF_TOKEN or `hf auth login`, never printed. An interrupted upload resumes on a rerun:
           contents the Hub already holds are not sent again.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vibevoice_asr_web.release import gates

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--repo-id", required=True, help="the Hub model repo to publish to (OWNER/NAME); created if missing")
    parser.add_argument(
        "--checkpoint", help="a local checkpoint folder or a Hub repo id (OWNER/NAME); default: the embedded tiny checkpoint",
    )
    parser.add_argument("--revision", help="Hub revision of --checkpoint to pin (branch, tag or commit)")
    parser.add_argument("--dtypes", default=ALL_DTYPES, help=f"variants to publish, comma-separated (default {ALL_DTYPES})")
    parser.add_argument("--dry-run", action="store_true", help="do everything but upload: print the files, sizes, sha256 and the model card")
    parser.add_argument("--work-dir", help="where builds, the release folder and the state live (default ~/.cache/vibevoice-asr-web/release/OWNER--NAME)")
    parser.add_argument("--fp32-dir", help="reuse this fp32 artifact folder (e.g. bazel-bin/models/fp32) instead of exporting")
    parser.add_argument(
        "--variants-dir", action="append", default=[],
        help="reuse variants from this folder made by `quantize` (e.g. bazel-bin/models/int4); repeatable",
    )
    parser.add_argument("--audio", action="append", help="audio for the parity gate's greedy decoding (repeatable; default: testdata/audio)")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser gate (the model card then says so)")
    parser.add_argument(
        "--min-top1", type=float, default=gates.ReleaseThresholds.min_top1,
        help="q4 / q4f16 parity gate: teacher-forced top-1 agreement with fp32 (default %(default)s; the model card states the value used)",
    )
    parser.add_argument(
        "--base-model", help="Hub id (OWNER/NAME[@REVISION]) of the source, for the model card, when --checkpoint is a local copy",
    )
    parser.add_argument("--message", help="commit message (default: what is published, from what)")
    parser.add_argument("--tag", help="also tag the commit on the Hub (e.g. the release's git tag, v1.0.0)")
    parser.add_argument("--private", action="store_true", help="create the repo private (an existing repo keeps its visibility)")
    parser.add_argument("--quiet", action="store_true", help="print the gate table, the result and errors only")
    manifest.add_no_verify_argument(parser)


def user_path(value: str) -> Path:
    """A path as the user meant it: relative to where they ran `bazel run` (BUILD_WORKING_DIRECTORY)."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()) / path
    return path


def parse_dtypes(text: str) -> list[str]:
    dtypes = []
    for name in (part.strip() for part in text.split(",")):
        if name:
            dtype = contract.canonical_dtype(name)
            if dtype not in dtypes:
                dtypes.append(dtype)
    if not dtypes:
        raise UserError(f"--dtypes {text!r}: expected one or more of fp32, fp16, q4, q4f16, separated by commas")
    return [d for d in contract.DTYPE_SUFFIX if d in dtypes]


def check_work_dir(work_dir: Path, args, fp32_dir: Path | None, variants_dirs: list[Path], audio: list[Path]) -> None:
    """The work folder is rewritten: it must be a folder, apart from every input."""
    from vibevoice_asr_web.atomic import check_apart

    if work_dir.exists() and not work_dir.is_dir():
        raise UserError(f"--work-dir {work_dir} is a file: expected a folder (it is created if missing)")
    checkpoint = user_path(args.checkpoint) if args.checkpoint and user_path(args.checkpoint).exists() else None
    check_apart(work_dir, [
        ("checkpoint", checkpoint), ("--fp32-dir", fp32_dir), *(("--variants-dir", d) for d in variants_dirs),
        *(("audio file", a) for a in audio),
    ])


def default_work_dir(repo_id: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vibevoice-asr-web" / "release" / repo_id.replace("/", "--")


def resolve_checkpoint(args: argparse.Namespace, work_dir: Path, progress: Progress):
    from vibevoice_asr_web import checkpoint_source

    if args.checkpoint:
        local = user_path(args.checkpoint)
        return checkpoint_source.resolve(str(local) if local.exists() else args.checkpoint, args.revision)
    try:
        folder = runfiles.locate("models/tiny_checkpoint")
    except UserError:
        from vibevoice_asr_web.fixtures.tiny_checkpoint import make_tiny

        folder = work_dir / "build" / "tiny_checkpoint"
        if not (folder / "config.json").is_file():
            progress.note(f"checkpoint: writing the embedded tiny checkpoint to {folder}")
            make_tiny(folder)
    progress.note(f"checkpoint: the embedded tiny checkpoint ({folder}); pass --checkpoint for the real model")
    return checkpoint_source.resolve(str(folder))


def expensive_gates(args, state, folder: Path, built, source, dtypes: list[str], audio: list[Path], thresholds, progress: Progress):
    """parity and browser: rerun only when the release's files, the thresholds or the audio changed."""
    from vibevoice_asr_web.release import browser, parity_gate
    from vibevoice_asr_web.release.gates import Gate
    from vibevoice_asr_web.release.state import key_of

    files = {k: v for k, v in manifest.read(folder)["files"].items() if k != "README.md"}
    audio_ids = [(p.name, manifest.sha256_file(p)) for p in audio]
    key = key_of("gates", files, thresholds.as_dict(), audio_ids, not args.no_browser, __version__)
    record = state.get("gates")
    if record.get("key") == key:
        progress.note("gates: parity and browser already passed on these exact files, not running them again")
        return [Gate.from_dict(r) for r in record["rows"]], record["parity"]
    reference = folder if "fp32" in dtypes else built.fp32_dir
    rows, parity_results = parity_gate.run(folder, dtypes, reference, source.path, audio, thresholds, progress)
    rows += browser.gate([folder], dtypes, not args.no_browser, state.work_dir / "browser.log", progress)
    if all(r.result != "FAIL" for r in rows):
        state.put("gates", {"key": key, "rows": [r.as_dict() for r in rows], "parity": parity_results})
    return rows, parity_results


def dry_run_listing(folder: Path, repo_id: str, card: str) -> str:
    from vibevoice_asr_web.artifact.check import human_bytes

    info = manifest.read(folder)
    entries = dict(info["files"])
    entries[manifest.MANIFEST] = {"sha256": manifest.sha256_file(folder / manifest.MANIFEST), "bytes": (folder / manifest.MANIFEST).stat().st_size}
    total = sum(e["bytes"] for e in entries.values())
    lines = [
        f"dry run: one commit to {repo_id} would add these {len(entries)} files ({human_bytes(total)}), sha256 verified against "
        f"the manifest, and delete files an earlier release left there that this one lacks (a dry run does not contact the Hub):",
        f"{'sha256':<64}  {'bytes':>15}  path",
    ]
    lines += [f"{e['sha256']}  {e['bytes']:>15,}  {name}" for name, e in sorted(entries.items())]
    lines += ["", "----- README.md (model card) -----", card.rstrip("\n"), "----- end of README.md -----", "", "nothing was uploaded (--dry-run)"]
    return "\n".join(lines)


def check_arguments(args: argparse.Namespace) -> list[str]:
    """The arguments a look can check (no file read): the repo ids, the gate; returns the dtypes."""
    if not HUB_ID.match(args.repo_id):
        raise UserError(f"--repo-id {args.repo_id!r}: expected a Hub model repo id, OWNER/NAME (e.g. my-org/VibeVoice-ASR-ONNX)")
    if args.base_model and not HUB_ID.match(args.base_model.partition("@")[0]):
        raise UserError(f"--base-model {args.base_model!r}: expected a Hub repo id, OWNER/NAME, optionally @REVISION")
    dtypes = parse_dtypes(args.dtypes)
    if not 0.0 <= args.min_top1 <= 1.0:
        raise UserError(f"--min-top1 {args.min_top1}: expected a fraction between 0 and 1")
    return dtypes


def input_paths(args: argparse.Namespace, progress: Progress) -> tuple[Path, Path | None, list[Path], list[Path]]:
    """(work folder, --fp32-dir, --variants-dir, audio), each checked before hours of work."""
    from vibevoice_asr_web.parity.measures import default_audio

    work_dir = user_path(args.work_dir) if args.work_dir else default_work_dir(args.repo_id)
    fp32_dir = user_path(args.fp32_dir) if args.fp32_dir else None
    variants_dirs = [user_path(d) for d in args.variants_dir]
    audio = [user_path(a) for a in args.audio] if args.audio else default_audio()
    reused = [*([fp32_dir] if fp32_dir else []), *variants_dirs]
    for path in reused:
        if not (path / manifest.MANIFEST).is_file():
            raise UserError(f"{path} holds no {manifest.MANIFEST}: expected an artifact folder made by `export` or `quantize`")
    for path in audio:
        if not path.is_file():
            raise UserError(f"--audio {path} does not exist")
    check_work_dir(work_dir, args, fp32_dir, variants_dirs, audio)
    if args.verify:  # before hours of work: the folders reused are what their manifests say
        for path in reused:
            manifest.verify(path, progress=progress)
    return work_dir, fp32_dir, variants_dirs, audio


def gate_table(args, state, folder: Path, built, source, dtypes: list[str], audio: list[Path], thresholds, progress: Progress):
    """(table, parity results): the structural gates, then parity and browser if they passed; printed, and
    a UserError naming every failure if any gate failed."""
    from vibevoice_asr_web.release import gates

    table = gates.GateTable()
    table.add(gates.structural(folder, dtypes, progress))
    if table.passed:
        rows, parity_results = expensive_gates(args, state, folder, built, source, dtypes, audio, thresholds, progress)
        table.add(rows)
    else:
        parity_results = {}
        table.add([gates.Gate(g, d, gates.SKIP, "not run: an earlier gate failed") for g in ("parity", "browser") for d in dtypes])
    print(table.format(), flush=True)
    if not table.passed:
        failed = "; ".join(f"{r.gate}/{r.variant}: {r.detail.splitlines()[0]}" for r in table.failures)
        raise UserError(f"refusing to publish: {len(table.failures)} gate(s) failed ({failed}). Nothing was uploaded; fix it and rerun")
    return table, parity_results


def write_card(args, state, folder: Path, source, dtypes: list[str], table, parity_results: dict, thresholds) -> tuple[str, dict]:
    """(card text, manifest info): the model card and the release record written into the release folder."""
    from vibevoice_asr_web.release import card, stage

    graphs = check.Graphs(folder)
    largest = {d: check.human_bytes(check.largest_initializer(graphs, d)[0]) for d in dtypes}
    release = {"repo_id": args.repo_id, "thresholds": thresholds.as_dict(), "gates": [r.as_dict() for r in table.rows]}
    info = manifest.read(folder)
    info.update(parity=parity_results, release=release)
    text = card.render(args.repo_id, info, table, card.source_license(source.path), card.base_model(info.get("source") or {}, args.base_model), largest)
    stage.finish(folder, text, parity_results, release, state)
    return text, info


def upload(args, state, folder: Path, source, dtypes: list[str], table, info: dict, token, progress: Progress) -> None:
    """One Hub commit of the release folder, recorded in the state."""
    from vibevoice_asr_web.release import hub

    revision = (info.get("source") or {}).get("revision", "")
    message = args.message or f"vibevoice-asr-web {__version__}: {', '.join(dtypes)} of {source.name} ({revision[:16]})"
    description = "Checked before upload:\n\n" + "\n".join(f"- {r.gate} {r.variant}: {r.result}, {r.detail.splitlines()[0]}" for r in table.rows)
    published = hub.publish(folder, args.repo_id, token, message, description, progress, private=args.private, tag=args.tag)
    state.put("upload", {
        "repo_id": args.repo_id, "commit_url": published.commit_url, "commit_oid": published.commit_oid,
        "manifest_sha256": manifest.sha256_file(folder / manifest.MANIFEST), "already": published.already,
    })
    if published.already:
        print(f"{args.repo_id} already holds this release; nothing was committed")
    else:
        print(f"published {len(published.added)} files to https://huggingface.co/{args.repo_id} in one commit: {published.commit_url}")


def run(args: argparse.Namespace) -> int:
    """Check the arguments and inputs, then build, stage, gate, write the card and upload (or list, on --dry-run)."""
    from vibevoice_asr_web.release import build, gates, hub, stage
    from vibevoice_asr_web.release.state import locked

    dtypes = check_arguments(args)
    progress = Progress(quiet=args.quiet)
    work_dir, fp32_dir, variants_dirs, audio = input_paths(args, progress)
    token = None if args.dry_run else hub.resolve_token()  # fail before hours of building, not after

    thresholds = gates.ReleaseThresholds(min_top1=args.min_top1)
    with locked(work_dir) as state:
        source = resolve_checkpoint(args, work_dir, progress)
        built = build.build(source, dtypes, work_dir, state, progress, fp32_dir, variants_dirs)
        folder = stage.stage(built, dtypes, work_dir, state, progress, source.describe())
        table, parity_results = gate_table(args, state, folder, built, source, dtypes, audio, thresholds, progress)
        text, info = write_card(args, state, folder, source, dtypes, table, parity_results, thresholds)
        if args.dry_run:
            print(dry_run_listing(folder, args.repo_id, text))
        else:
            upload(args, state, folder, source, dtypes, table, info, token, progress)
        return 0


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Build VibeVoice-ASR artifact folders, check them (sha256, ONNX contract, sizes, parity, browser), "
        "write a model card and publish them to the Hugging Face Hub in one commit.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    add_arguments(parser)
    args = parser.parse_args(argv)
    from vibevoice_asr_web.cli import guarded

    return guarded("publish", lambda: run(args), args.debug, "interrupted; rerun the same command to resume")
