"""Writes that lose nothing: outputs apart from inputs, built aside, fsynced, renamed into place.

An output folder is built in a hidden `.NAME.partial-PID/result` beside it, with scratch space in
`.NAME.partial-PID/scratch`. Only a complete result is put into place, swapped with the old folder
in one step (Linux's RENAME_EXCHANGE), so a crash at any point leaves the old or the new folder
under the name. Where the file system cannot swap, the old folder is first moved to `.NAME.old-PID`:
an error or signal between the two renames puts it back at once, and a kill there leaves it aside
for the next run. The next run recovers or removes what a crash left and says so. A lock
(`.NAME.lock`, held for the whole run) keeps two runs from writing the same output at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from vibevoice_asr_web.errors import UserError

RESULT = "result"
SCRATCH = "scratch"

# errno values a user can act on (space, permissions, read-only media), with what to say.
_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full: free space (or choose an output on another disk) and run again",
    errno.EDQUOT: "the disk quota is exceeded: free space (or choose an output on another disk) and run again",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "permission denied: choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose a folder on a writable disk",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
}


def write_error(path: Path | str, error: OSError) -> UserError | None:
    """A UserError for an OSError a user can fix (full disk, no permission, read-only), else None."""
    advice = _WRITE_ERRORS.get(error.errno)
    return UserError(f"cannot write {path}: {advice}") if advice else None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


Inputs = Iterable[tuple[str, "str | os.PathLike | None"]]


def check_apart(output: str | os.PathLike, inputs: Inputs) -> None:
    """Refuses an output that is, contains or lies inside one of the inputs, given as (role, path) pairs."""
    out = Path(os.path.realpath(output))
    for role, given in inputs:
        if given is None:
            continue
        source = Path(os.path.realpath(given))
        if _inside(out, source) or _inside(source, out):
            relation = "is" if out == source else ("lies inside" if _inside(out, source) else "contains")
            what = f"the {role} {given}"
            raise UserError(
                f"the output {output} {relation} {what}: writing there would destroy the input. "
                "Choose an output outside every input (even with --overwrite)"
            )


def check_output_file(output: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
    """Refuses an output file that is one of the input files, or an existing folder."""
    out = Path(os.path.realpath(output))
    if out.exists() and not out.is_file():
        raise UserError(f"--output {output} is {'a folder' if out.is_dir() else 'not a regular file'}: expected a file path")
    for given in inputs:
        if Path(os.path.realpath(given)) == out:
            raise UserError(f"--output {output} is the input file {given}: writing it would destroy the input; choose another file")
    existing = next(p for p in out.parents if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write --output {output}: {existing} is not a folder you can write to; choose another file")


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Every file and folder under `root` reaches the disk before the rename that publishes it."""
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                _fsync_path(path)
        _fsync_path(Path(folder), directory=True)


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr, flush=True)


def recover(final: Path) -> None:
    """Under the lock: puts back the old folder a crash left moved aside, and removes stale partials."""
    olds = sorted(final.parent.glob(f".{final.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not final.exists():
        olds[-1].rename(final)
        _note(f"recovered {final} from an interrupted replace (the previous result; the new one never finished)")
        olds = olds[:-1]
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
        _note(f"removed {old.name}, the previous {final.name} left by an interrupted replace")
    for leftover in final.parent.glob(f".{final.name}.partial-*"):  # stale: every writer holds the lock
        shutil.rmtree(leftover, ignore_errors=True)
        _note(f"removed {leftover.name}, left by an interrupted run")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _lock(lock_path: Path, final: Path) -> int:
    """An fd holding an exclusive flock on the lock file that is at `lock_path` now (not an unlinked one)."""
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"another run (pid {holder}) is writing {final} right now: wait for it to finish, or choose another output"
            ) from None
        if _same_file(fd, lock_path):
            return fd
        os.close(fd)  # the holder removed it as we locked it: take the new one


@contextlib.contextmanager
def output_lock(final: Path) -> Iterator[None]:
    """`.NAME.lock`, held for the whole run: a second run writing the same output stops at once."""
    lock_path = final.parent / f".{final.name}.lock"
    fd = _lock(lock_path, final)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        lock_path.unlink(missing_ok=True)  # while still held, so a waiting run sees the unlink and relocks
        os.close(fd)


def check_output_dir(final: Path, overwrite: bool) -> None:
    if final.exists() and not final.is_dir():
        raise UserError(f"{final} exists and is not a folder: choose another output folder")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        raise UserError(f"{final} already exists and is not empty: remove it or pass --overwrite")


def _make_parent(final: Path) -> None:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(final.parent, error) or UserError(
            f"cannot create {final.parent}: {error.strerror}; choose another output folder"
        ) from None
    if not os.access(final.parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {final}: {final.parent} is not writable; choose a folder you can write to")


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swaps `a` and `b` in one atomic step (renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False  # not Linux, or a C library without it
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # an old kernel, or a file system that cannot swap (NFS, ...)
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _publish(result: Path, final: Path) -> None:
    """result <-> final in one step (the old folder then goes with the partial), else old -> .old-PID,
    result -> final, then the old one goes: the name always holds a whole folder, or (killed between
    those two renames, where the file system cannot swap) the next run puts the old one back."""
    fsync_tree(result)
    if not os.path.lexists(final):
        result.rename(final)
    elif not _exchange(result, final):
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        try:
            final.rename(old)
            result.rename(final)
        except BaseException:  # an error, or SIGTERM / Ctrl+C, between the renames: the old one goes back
            if os.path.lexists(old) and not os.path.lexists(final):
                old.rename(final)
            raise
        _fsync_path(final.parent, directory=True)
        shutil.rmtree(old, ignore_errors=True)
        return
    _fsync_path(final.parent, directory=True)


@contextlib.contextmanager
def atomic_directory(
    final: str | os.PathLike, overwrite: bool = False, inputs: Inputs = (),
) -> Iterator[Path]:
    """Yields an empty folder that becomes `final` when the block finishes cleanly (see the module doc).

    `inputs` ((role, path) pairs) are checked first: the output may not be, contain or lie inside any of them.
    `scratch(result)` gives space that is removed with the partial folder, whatever happens.
    """
    final = Path(final).absolute()
    check_apart(final, inputs)
    check_output_dir(final, overwrite)
    _make_parent(final)
    with output_lock(final):
        recover(final)
        check_output_dir(final, overwrite)
        partial = final.parent / f".{final.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            (partial / RESULT).mkdir(parents=True)
            yield partial / RESULT
            _publish(partial / RESULT, final)
        except OSError as error:
            raise (write_error(final, error) or error) from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def scratch(result: Path) -> Path:
    """Scratch space beside an atomic_directory's result, removed with it on success, error or signal."""
    path = result.parent / SCRATCH
    path.mkdir(exist_ok=True)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replaces `path` whole or not at all, keeping the mode of the file it replaces.

    A symlink is written through: its target is replaced, and the link stays."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    partial = path.parent / f".{path.name}.partial-{os.getpid()}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(partial, mode)
        os.replace(partial, path)
        _fsync_path(path.parent, directory=True)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and (friendly := write_error(path, error)):
            raise friendly from None
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
