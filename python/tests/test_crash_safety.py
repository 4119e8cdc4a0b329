"""Crash safety of every output (issue 13, point 2): replace, recovery, scratch, lock, fsync, atomic files,
and the kill test (SIGKILL / SIGTERM at chosen points of real `export` and `quantize` runs)."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vibevoice_asr_web import atomic, cli

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import Terminated, UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.quantize import folder as quantize_module
from vibevoice_asr_web.quantize import transforms
from vibevoice_asr_web.quantize.folder import quantize_folder

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

# Runs the CLI (`python -m vibevoice_asr_web ARGS`) with one function patched to signal the process itself at
# a chosen point: argv is SIGNAL POINT N ARGS... (N: which call of the patched function fires).
HOOK = r"""
import os, pathlib, signal, sys, time
signame, point, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
from vibevoice_asr_web import atomic, cli, progress
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.quantize import transforms

def die():
    os.kill(os.getpid(), getattr(signal, signame))
    for _ in range(600):  # SIGTERM: the CLI's handler raises Terminated here; SIGKILL never gets this far
        time.sleep(0.1)
    raise SystemExit(f"{signame} did not stop the run")

calls = 0
def fires():
    global calls
    calls += 1
    return calls == count

if point == "tensor":  # in the middle of the variant's tensors (earlier ones written, later ones not)
    real_f16 = transforms.to_float16
    def to_float16(values, transform):
        if fires():
            die()
        return real_f16(values, transform)
    transforms.to_float16 = to_float16
elif point == "complete":  # the result complete and fsynced, not yet put in place
    real_fsync_tree = atomic.fsync_tree
    def fsync_tree(root):
        real_fsync_tree(root)
        die()
    atomic.fsync_tree = fsync_tree
elif point == "swapped":  # right after the one-step swap: the new folder in place, the old one in the partial
    real_exchange = atomic._exchange
    def exchange(a, b):
        swapped = real_exchange(a, b)
        if swapped:
            die()
        return swapped
    atomic._exchange = exchange
elif point == "aside":  # no swap (as on NFS): between moving the old folder aside and renaming the new one in
    atomic._exchange = lambda a, b: False
    real_rename = pathlib.Path.rename
    def rename(self, target):
        moved = real_rename(self, target)
        if ".old-" in pathlib.Path(target).name:
            die()
        return moved
    pathlib.Path.rename = rename
elif point == "scratch":  # writing the fp32 weights into scratch space (`export --dtype q4`, before any variant)
    # embed_tokens first: the cheapest graph to trace, so the kill comes in seconds (the order matters to nothing here)
    contract.GRAPH_NAMES = (contract.EMBED_TOKENS, contract.AUDIO_ENCODER, contract.DECODER)
    real_callback = progress.Progress.bytes_callback
    def bytes_callback(self, label):
        report = real_callback(self, label)
        def tick(done, total):
            if label.startswith("writing ") and fires():
                die()
            report(done, total)
        return tick
    progress.Progress.bytes_callback = bytes_callback
elif point == "pause":  # holds the run (and its lock) with the result complete until told to go on
    ready, go = pathlib.Path(os.environ["CRASH_TEST_READY"]), pathlib.Path(os.environ["CRASH_TEST_GO"])
    real_fsync_tree = atomic.fsync_tree
    def fsync_tree(root):
        ready.touch()
        deadline = time.monotonic() + 240
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        real_fsync_tree(root)
    atomic.fsync_tree = fsync_tree
elif point != "none":
    raise SystemExit(f"unknown point {point}")

sys.exit(cli.main(sys.argv[4:]))
"""


def run_cli(args: list[str], signame: str = "SIGKILL", point: str = "none", count: int = 1, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-c", HOOK, signame, point, str(count), *map(str, args)],
        env={**ENV, **(env or {})}, capture_output=True, text=True, timeout=300,
    )


def quantize_args(fp32: Path, out: Path, overwrite: bool) -> list[str]:
    return ["quantize", "--input-dir", fp32, "--output-dir", out, "--dtype", "fp16", "--no-validate"] + (
        ["--overwrite"] if overwrite else []
    )


def quiet() -> Progress:
    return Progress(quiet=True)


def tree(folder: Path) -> dict[str, str]:
    """Every entry under `folder`: a file's sha256, a link's target, or "folder"."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            entries[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            entries[name] = "folder"
        else:
            entries[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def leftovers(out: Path, kind: str) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.{kind}-*"))


def assert_is_new_complete(out: Path) -> None:
    assert not (out / "OLD.txt").exists(), "the old folder is still under the name"
    manifest.verify(out)  # every file the manifest lists, size and sha256


@pytest.fixture(scope="module")
def fp16_base(fp32_artifacts, tmp_path_factory):
    """A real, complete fp16 folder: copied as the 'old' output that a run replaces."""
    return quantize_folder(fp32_artifacts, tmp_path_factory.mktemp("base") / "fp16", "fp16", validate=False, progress=quiet())


@pytest.fixture
def make_old(fp16_base, tmp_path):
    """make_old(name): a complete folder at tmp_path/name marked OLD.txt (so old and new differ); returns (path, tree)."""

    def make(name: str = "fp16") -> tuple[Path, dict]:
        old = tmp_path / name
        shutil.copytree(fp16_base, old)
        (old / "OLD.txt").write_text("the previous result\n")
        return old, tree(old)

    return make


def exchange_supported(where: Path) -> bool:
    """Whether the system and file system can swap two folders in one step (asked directly, not through atomic)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    a, b = where / "swap-a", where / "swap-b"
    a.mkdir(), b.mkdir()
    try:
        return renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0  # AT_FDCWD, RENAME_EXCHANGE
    finally:
        a.rmdir(), b.rmdir()


# ------------------------------------------------------------------------------------- replace and recover


def test_overwrite_keeps_the_old_folder_readable_until_the_new_one_is_complete(fp32_artifacts, make_old, monkeypatch):
    out, old = make_old()
    seen = []

    def still_old(when: str) -> None:
        assert tree(out) == old, f"the old folder changed {when}"
        manifest.verify(out)  # and is whole: every file it lists is there, intact
        seen.append(when)

    real_f16, real_fsync_tree = transforms.to_float16, atomic.fsync_tree

    def to_float16(values, transform):
        if len(seen) < 3:
            still_old("while the new tensors are written")
        return real_f16(values, transform)

    def fsync_tree(root):
        assert root == out.parent / f".{out.name}.partial-{os.getpid()}" / atomic.RESULT  # built hidden, beside it
        assert (root / "manifest.json").is_file()  # the new one is complete...
        still_old("with the new one complete")  # ...and the old one still there, untouched
        real_fsync_tree(root)

    monkeypatch.setattr(transforms, "to_float16", to_float16)
    monkeypatch.setattr(atomic, "fsync_tree", fsync_tree)
    quantize_folder(fp32_artifacts, out, "fp16", overwrite=True, validate=False, progress=quiet())
    assert seen[-1] == "with the new one complete" and len(seen) >= 2
    assert_is_new_complete(out)
    assert siblings(out) == []


@pytest.mark.parametrize("failure", ["error", "disk full", "SIGINT", "SIGTERM"])
def test_a_failed_or_stopped_run_keeps_the_old_folder_and_leaves_nothing(fp32_artifacts, make_old, monkeypatch, failure):
    out, old = make_old()
    real_f16 = transforms.to_float16
    calls = []

    def to_float16(values, transform):
        calls.append(1)
        if len(calls) == 3:
            assert leftovers(out, "partial"), "the new folder is not being built beside the old one"
            if failure == "error":
                raise RuntimeError("a bug in the middle of the variant")
            if failure == "disk full":
                raise OSError(errno.ENOSPC, "No space left on device")
            os.kill(os.getpid(), getattr(signal, failure))  # the handler raises at once, in this (the main) thread
            time.sleep(5)
            raise AssertionError(f"{failure} was not raised")
        return real_f16(values, transform)

    monkeypatch.setattr(transforms, "to_float16", to_float16)
    previous = signal.signal(signal.SIGTERM, cli._raise_terminated)  # as the CLI sets it
    expected = {"error": RuntimeError, "disk full": UserError, "SIGINT": KeyboardInterrupt, "SIGTERM": Terminated}[failure]
    try:
        with pytest.raises(expected) as raised:
            quantize_folder(fp32_artifacts, out, "fp16", overwrite=True, validate=False, progress=quiet())
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failure == "disk full":
        assert "the disk is full" in str(raised.value) and str(out) in str(raised.value)
    assert tree(out) == old
    assert siblings(out) == []


def test_leftovers_of_a_crash_are_recovered_or_removed_and_reported(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs: its leftovers belong to no one
    out = tmp_path / "out"
    # killed between moving the old folder aside and renaming the new one in: the name holds nothing
    (tmp_path / f".out.old-{dead.pid}").mkdir()
    (tmp_path / f".out.old-{dead.pid}" / "previous.txt").write_text("previous")
    (tmp_path / f".out.partial-{dead.pid}" / "result").mkdir(parents=True)
    (tmp_path / f".out.partial-{dead.pid}" / "result" / "new.txt").write_text("new, never published")
    (tmp_path / ".out.lock").write_text(str(dead.pid))  # a killed run's lock file (its flock died with it)
    with pytest.raises(UserError, match="pass --overwrite"):
        with atomic.atomic_directory(out):
            pass
    err = capsys.readouterr().err
    assert f"note: recovered {out} from an interrupted replace" in err
    assert f"note: removed .out.partial-{dead.pid}, left by an interrupted run" in err
    assert tree(out) == {"previous.txt": hashlib.sha256(b"previous").hexdigest()}
    assert siblings(out) == []
    # killed after the rename, before the old folder was removed: the name holds the new one
    (tmp_path / f".out.old-{dead.pid}").mkdir()
    with atomic.atomic_directory(out, overwrite=True) as result:
        (result / "newest.txt").write_text("newest")
    assert f"note: removed .out.old-{dead.pid}, the previous out left by an interrupted replace" in capsys.readouterr().err
    assert tree(out) == {"newest.txt": hashlib.sha256(b"newest").hexdigest()}
    assert siblings(out) == []


# ------------------------------------------------------------------------------------------------- scratch


@pytest.mark.parametrize("failure", ["error", "SIGINT", "SIGTERM"])
def test_scratch_lives_in_the_partial_and_goes_on_error_and_signals(tiny_checkpoint, tmp_path, monkeypatch, failure):
    """The real scratch fp32 export of `export --dtype q4` (one cheap graph), stopped as the variants begin."""
    from vibevoice_asr_web.export.command import export_artifacts

    out = tmp_path / "q4"
    checkpoint_before = tree(tiny_checkpoint)
    seen = {}

    def write_variants(source, target, *args, **kwargs):
        partial = tmp_path / f".q4.partial-{os.getpid()}"
        assert source == partial / atomic.SCRATCH / "fp32" and target == partial / atomic.RESULT
        seen["scratch"] = tree(source)
        if failure == "error":
            raise RuntimeError("the variants failed")
        os.kill(os.getpid(), getattr(signal, failure))
        time.sleep(5)
        raise AssertionError(f"{failure} was not raised")

    monkeypatch.setattr(contract, "GRAPH_NAMES", (contract.EMBED_TOKENS,))  # one graph: seconds, not a minute
    monkeypatch.setattr(quantize_module, "write_variants", write_variants)
    previous = signal.signal(signal.SIGTERM, cli._raise_terminated)
    expected = {"error": RuntimeError, "SIGINT": KeyboardInterrupt, "SIGTERM": Terminated}[failure]
    try:
        with pytest.raises(expected):
            export_artifacts(str(tiny_checkpoint), out, dtype="q4", validate=False, progress=quiet())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert f"onnx/{contract.onnx_file_name(contract.EMBED_TOKENS, 'fp32')}" in seen["scratch"]  # the scratch export was real...
    assert any(v.startswith("-> ") for v in seen["scratch"].values())  # ...down to its links to the checkpoint's weights
    assert siblings(out) == [] and not out.exists()  # scratch went with the partial folder
    assert tree(tiny_checkpoint) == checkpoint_before  # and removing it did not follow the links into the checkpoint


# ---------------------------------------------------------------------------------------------------- lock


def test_a_second_run_on_the_same_output_stops_and_replaces_nothing(fp32_artifacts, make_old, tmp_path):
    out, old = make_old()
    flags = tmp_path / "flags"  # the run's "ready" and the test's "go", away from the output's siblings
    flags.mkdir()
    ready, go = flags / "ready", flags / "go"
    first = subprocess.Popen(
        [sys.executable, "-c", HOOK, "SIGKILL", "pause", "1", *map(str, quantize_args(fp32_artifacts, out, overwrite=True))],
        env={**ENV, "CRASH_TEST_READY": str(ready), "CRASH_TEST_GO": str(go)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline, "the first run never got going"
            time.sleep(0.1)
        partial_before = {p.name: tree(p) for p in leftovers(out, "partial")}
        assert list(partial_before) == [f".fp16.partial-{first.pid}"]
        second = run_cli(quantize_args(fp32_artifacts, out, overwrite=True))
        assert second.returncode == 1, second.stderr
        assert f"another run (pid {first.pid}) is writing {out} right now" in second.stderr
        assert tree(out) == old  # nothing replaced...
        assert {p.name: tree(p) for p in leftovers(out, "partial")} == partial_before  # ...nor the first run's work touched
        assert "note:" not in second.stderr  # the second run recovered nothing: that happens under the lock only
    finally:
        go.touch()
        _, first_err = first.communicate(timeout=240)
    assert first.returncode == 0, first_err
    assert_is_new_complete(out)
    assert siblings(out) == ["flags"]


# --------------------------------------------------------------------------------------------------- fsync


def _key(path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


@pytest.mark.parametrize("publish", ["new", "swap", "aside"])
def test_every_file_and_folder_is_fsynced_before_the_rename(fp32_artifacts, make_old, tmp_path, monkeypatch, publish):
    """new: no old folder (one rename); swap: the one-step exchange; aside: no exchange (old aside, new in)."""
    if publish == "swap" and not exchange_supported(tmp_path):
        pytest.skip("this file system cannot swap two folders in one step")
    out = tmp_path / "fp16" if publish == "new" else make_old()[0]
    events: list[tuple[str, object]] = []
    real_fsync, real_rename, real_exchange = os.fsync, pathlib.Path.rename, atomic._exchange

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", (st.st_dev, st.st_ino)))
        return real_fsync(fd)

    def rename(self, target):
        if self.name == atomic.RESULT:
            events.append(("publish", "rename"))
        return real_rename(self, target)

    def exchange(a, b):
        if publish == "aside":
            return False
        events.append(("publish", "exchange"))
        return real_exchange(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(pathlib.Path, "rename", rename)
    monkeypatch.setattr(atomic, "_exchange", exchange)
    quantize_folder(fp32_artifacts, out, "fp16", overwrite=True, validate=False, progress=quiet())
    publishes = [i for i, (kind, _) in enumerate(events) if kind == "publish"]
    assert [events[i][1] for i in publishes] == ["exchange" if publish == "swap" else "rename"]
    before = {key for kind, key in events[: publishes[0]] if kind == "fsync"}
    after = {key for kind, key in events[publishes[0]:] if kind == "fsync"}
    entries = [out, *sorted(out.rglob("*"))]
    assert len(entries) > 10
    assert [str(p) for p in entries if _key(p) not in before] == []  # each file and folder, before the rename
    assert _key(out.parent) in after  # and the rename itself, after it
    assert_is_new_complete(out)
    assert siblings(out) == []


def test_an_atomic_write_is_fsynced_before_its_rename_and_its_folder_after(tmp_path, monkeypatch):
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", (st.st_dev, st.st_ino)))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        events.append(("replace", None))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "manifest.json"
    path.write_text("old")
    atomic.write_text_atomic(path, "new")
    assert path.read_text() == "new"
    at = events.index(("replace", None))
    assert ("fsync", _key(path)) in events[:at]
    assert ("fsync", _key(tmp_path)) in events[at:]


# ---------------------------------------------------------------------------------------- atomic file writes


def test_an_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    for mode in (0o600, 0o640, 0o755, 0o444):
        path = tmp_path / f"file-{mode:o}"
        path.write_text("old")
        path.chmod(mode)
        atomic.write_bytes_atomic(path, b"new")
        assert path.read_bytes() == b"new"
        assert stat.S_IMODE(path.stat().st_mode) == mode, f"{mode:o} became {stat.S_IMODE(path.stat().st_mode):o}"
    fresh = tmp_path / "fresh"
    atomic.write_bytes_atomic(fresh, b"first")  # a new file: the usual mode
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file-444", "file-600", "file-640", "file-755", "fresh"]


def test_an_atomic_write_goes_through_a_symlink(tmp_path):
    real, links = tmp_path / "real", tmp_path / "links"
    real.mkdir(), links.mkdir()
    target = real / "state.json"
    target.write_text("old")
    target.chmod(0o600)
    link = links / "state.json"
    link.symlink_to("../real/state.json")
    atomic.write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == "../real/state.json"  # the link stays a link...
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600  # ...its target changes
    later = links / "later.json"  # a link to a file not written yet: the file is made where it points
    later.symlink_to(real / "later.json")
    atomic.write_text_atomic(later, "first")
    assert later.is_symlink() and (real / "later.json").read_text() == "first"
    assert sorted(os.listdir(real)) == ["later.json", "state.json"] and sorted(os.listdir(links)) == ["later.json", "state.json"]


@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
@pytest.mark.parametrize("failure", ["disk full", "quota", "interrupted"])
def test_a_failed_atomic_write_leaves_the_file_as_it_was_and_no_partial(tmp_path, monkeypatch, existing, failure):
    path = tmp_path / "manifest.json"
    if existing:
        path.write_bytes(b"the old content")
    real_open = open
    half_written = []

    class FillsUp:
        """A file that takes half of what is written, then fails as a full disk (or Ctrl+C) would."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            half_written.extend(p.name for p in tmp_path.iterdir() if ".partial-" in p.name)
            if failure == "interrupted":
                raise KeyboardInterrupt
            raise OSError(errno.ENOSPC if failure == "disk full" else errno.EDQUOT, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(atomic, "open", lambda p, mode="r", *a, **k: FillsUp(real_open(p, mode, *a, **k)), raising=False)
    expected = KeyboardInterrupt if failure == "interrupted" else UserError
    with pytest.raises(expected) as raised:
        atomic.write_bytes_atomic(path, b"x" * 100_000)
    assert half_written == [f".manifest.json.partial-{os.getpid()}"]  # there was a partial file...
    assert sorted(os.listdir(tmp_path)) == (["manifest.json"] if existing else [])  # ...and it is gone
    if existing:
        assert path.read_bytes() == b"the old content"
    if failure == "disk full":
        assert str(raised.value) == f"cannot write {path}: the disk is full: free space (or choose an output on another disk) and run again"
    elif failure == "quota":
        assert "the disk quota is exceeded" in str(raised.value)


# ----------------------------------------------------------------------------------------------- kill test


def _partial_pid(out: Path) -> str:
    partials = leftovers(out, "partial")
    assert len(partials) == 1, siblings(out)
    return partials[0].name.rsplit("-", 1)[1]


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("point", ["tensor", "complete", "swapped", "aside"])
def test_kill_quantize_over_an_old_folder(fp32_artifacts, make_old, tmp_path, capsys, point, signame):
    """`quantize --overwrite` killed at each point: the name holds the old folder whole (or, from the swap on,
    the new one); SIGTERM cleans up at once, and after SIGKILL the next run recovers, says so, and succeeds."""
    out, old = make_old()
    if point == "swapped" and not exchange_supported(tmp_path):
        pytest.skip("this file system cannot swap two folders in one step")
    killed = run_cli(quantize_args(fp32_artifacts, out, overwrite=True), signame, point, count=5 if point == "tensor" else 1)
    if signame == "SIGTERM":
        assert killed.returncode == 128 + signal.SIGTERM, killed.stderr
        assert "vibevoice-asr-web quantize: stopped by signal SIGTERM" in killed.stderr
        if point == "swapped":
            assert_is_new_complete(out)
        else:
            assert tree(out) == old
        assert siblings(out) == []  # cleanup ran: no partial (nor scratch in it), no old folder aside, no lock
        return
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid = _partial_pid(out)
    result = tmp_path / f".fp16.partial-{pid}" / atomic.RESULT
    assert (tmp_path / ".fp16.lock").exists()  # a killed run's lock file: no flock on it any more
    notes = [f"note: removed .fp16.partial-{pid}, left by an interrupted run"]
    if point == "swapped":
        assert_is_new_complete(out)
        assert tree(result) == old  # the old one went into the partial whole, in the same step
    elif point == "aside":
        # Where the file system cannot swap, this one window leaves neither under the name: the old one is
        # aside, whole, and the next run puts it back before anything else (here it then stops: no --overwrite).
        assert not os.path.lexists(out)
        assert [p.name for p in leftovers(out, "old")] == [f".fp16.old-{pid}"]
        assert tree(tmp_path / f".fp16.old-{pid}") == old
        with pytest.raises(UserError, match="pass --overwrite"):
            quantize_folder(fp32_artifacts, out, "fp16", validate=False, progress=quiet())
        assert tree(out) == old
        notes.append(f"note: recovered {out} from an interrupted replace")
    else:
        assert tree(out) == old
        assert (result / "manifest.json").is_file() == (point == "complete")
    quantize_folder(fp32_artifacts, out, "fp16", overwrite=True, validate=False, progress=quiet())
    err = capsys.readouterr().err
    assert [n for n in notes if n not in err] == [], err
    assert_is_new_complete(out)
    assert siblings(out) == []


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGTERM"])
def test_kill_quantize_with_no_old_folder_leaves_nothing_under_the_name(fp32_artifacts, tmp_path, capsys, signame):
    """Killed with the result complete but not renamed: nothing complete-looking under the name."""
    out = tmp_path / "fp16"
    killed = run_cli(quantize_args(fp32_artifacts, out, overwrite=False), signame, "complete")
    assert not os.path.lexists(out)
    if signame == "SIGTERM":
        assert killed.returncode == 128 + signal.SIGTERM, killed.stderr
        assert "stopped by signal SIGTERM" in killed.stderr
        assert siblings(out) == []
        return
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid = _partial_pid(out)
    assert (tmp_path / f".fp16.partial-{pid}" / atomic.RESULT / "manifest.json").is_file()  # complete, but hidden
    rerun = run_cli(quantize_args(fp32_artifacts, out, overwrite=False))  # no --overwrite needed: nothing was there
    assert rerun.returncode == 0, rerun.stderr
    assert f"note: removed .fp16.partial-{pid}, left by an interrupted run" in rerun.stderr
    assert_is_new_complete(out)
    assert siblings(out) == []


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_kill_export_q4_during_its_scratch_fp32_export(tiny_checkpoint, make_old, tmp_path, capsys, monkeypatch, signame):
    """`export --dtype q4 --overwrite` killed while it writes fp32 weights into its scratch space. After SIGKILL,
    the rerun (a whole export) shows the scratch folder inside the partial one, and gone on success."""
    from vibevoice_asr_web.export.command import export_artifacts

    out, old = make_old("q4")
    args = ["export", "--checkpoint", tiny_checkpoint, "--output-dir", out, "--dtype", "q4", "--overwrite"]
    killed = run_cli(args, signame, "scratch")
    assert tree(out) == old
    if signame == "SIGTERM":
        assert killed.returncode == 128 + signal.SIGTERM, killed.stderr
        assert "vibevoice-asr-web export: stopped by signal SIGTERM" in killed.stderr
        assert siblings(out) == []  # the partial folder and the scratch fp32 export in it are gone
        return
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid = _partial_pid(out)
    partial = tmp_path / f".q4.partial-{pid}"
    scratch = tree(partial / atomic.SCRATCH)
    graph = f"fp32/onnx/{contract.onnx_file_name(contract.EMBED_TOKENS, 'fp32')}"
    assert any(name.startswith(graph) for name in scratch) and graph not in scratch, scratch  # killed mid-graph
    assert not (partial / atomic.RESULT / "manifest.json").exists()

    seen = {}
    real_write_variants = quantize_module.write_variants

    def write_variants(source, target, *args, **kwargs):
        me = tmp_path / f".q4.partial-{os.getpid()}"
        assert source == me / atomic.SCRATCH / "fp32" and target == me / atomic.RESULT
        seen["scratch"] = sorted(tree(source))
        assert tree(out) == old  # the old folder, untouched while the new one is made
        return real_write_variants(source, target, *args, **kwargs)

    monkeypatch.setattr(quantize_module, "write_variants", write_variants)
    export_artifacts(str(tiny_checkpoint), out, dtype="q4", overwrite=True, validate=False, progress=quiet())
    assert f"note: removed .q4.partial-{pid}, left by an interrupted run" in capsys.readouterr().err
    assert {f"onnx/{contract.onnx_file_name(g, 'fp32')}" for g in contract.GRAPH_NAMES} <= set(seen["scratch"])
    assert_is_new_complete(out)
    assert not any("scratch" in name or "fp32" in name for name in tree(out))
    assert siblings(out) == []  # scratch went with the partial folder
