"""The upload: a release folder -> ONE commit on the Hugging Face Hub, through huggingface_hub.

The commit adds exactly the files manifest.json lists, plus manifest.json, and deletes the files a
previous release left that this one does not have (a stale `_data_1` chunk would otherwise sit
beside a manifest that does not list it). It is atomic: the repo shows the whole release or none of
it. Resuming: huggingface_hub uploads file contents before it creates the commit, content-addressed
(Xet chunks, or LFS objects by sha256), and skips what the Hub already holds, so a rerun after an
interruption sends only what had not arrived; a rerun after the commit itself finds the same
manifest.json on the Hub (same git blob id) and does nothing.

The token comes from HF_TOKEN or the library's login (`huggingface_hub.get_token()`); it is passed
to HfApi and never printed: while the Hub is being talked to, log records and stdout/stderr have it
replaced, and errors are re-raised as UserError with it removed and without the original exception
(whose response may carry the request's Authorization header).

Every request has a connect and read timeout (VIBEVOICE_HUB_TIMEOUT, see hub_timeouts), so a Hub that
stops answering fails the upload with a message instead of hanging it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vibevoice_asr_web import hub_timeouts

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress

REDACTED = "[HF_TOKEN redacted]"
KEEP_ON_HUB = {".gitattributes"}


def resolve_token() -> str:
    from huggingface_hub import constants

    if constants.is_offline_mode():
        raise UserError("HF_HUB_OFFLINE is set, so huggingface_hub will not reach the Hub: unset it to publish (a --dry-run needs no Hub)")
    hub_timeouts.install()  # a bad VIBEVOICE_HUB_TIMEOUT fails before the build; get_token may ask the network (OIDC)
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        from huggingface_hub import get_token

        try:
            token = (get_token() or "").strip()
        except Exception:  # an OIDC exchange that fails, an unreadable token file
            token = ""
    if not token:
        raise UserError(
            "no Hugging Face token: set HF_TOKEN to a token with write access to the repo, or log in with `hf auth login` "
            "(a --dry-run needs none)"
        )
    return token


class Redactor:
    def __init__(self, *secrets: str):
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class _RedactingStream:
    def __init__(self, stream, redact: Redactor):
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        return self._stream.write(self._redact(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacting(token: str) -> Iterator[Redactor]:
    """Keeps `token` out of log records and stdout/stderr for the duration."""
    redact = Redactor(token)
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        if redact(message) != message:
            record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None and redact(str(record.exc_info[1])) != str(record.exc_info[1]):
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}: {redact(str(record.exc_info[1]))})"
            record.exc_info, record.exc_text = None, None
        return record

    logging.setLogRecordFactory(factory)
    try:
        with contextlib.redirect_stdout(_RedactingStream(sys.stdout, redact)), contextlib.redirect_stderr(_RedactingStream(sys.stderr, redact)):
            yield redact
    finally:
        logging.setLogRecordFactory(previous)


def git_blob_sha1(path: Path) -> str:
    """The id git (and the Hub) gives a file's contents."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Published:
    repo_id: str
    commit_url: str | None
    commit_oid: str | None
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    already: bool = False


def _advice(error: Exception, repo_id: str, limit: float) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    owner = repo_id.split("/")[0]
    if timeout := hub_timeouts.timed_out(error):
        return hub_timeouts.advice(timeout, limit) + "; a rerun resumes the upload"
    if type(error).__name__ == "OfflineModeIsEnabled":
        return "HF_HUB_OFFLINE is set: unset it to publish"
    if status in (401, 403):
        return f"the Hub refused the token: it needs write access to {owner}; make one at https://huggingface.co/settings/tokens and set HF_TOKEN"
    if status == 404:
        return f"the Hub does not know {repo_id} or the namespace {owner}: check --repo-id, and that the token may create repos there"
    return (
        "the upload did not finish; rerun the same command: the built and checked folder is reused, and file contents "
        "the Hub already received are not sent again"
    )


def publish(
    folder: Path, repo_id: str, token: str, message: str, description: str, progress: Progress,
    private: bool = False, tag: str | None = None,
) -> Published:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    info = manifest.read(folder)
    names = sorted([*info["files"], manifest.MANIFEST])
    failure: str | None = None
    limit = hub_timeouts.install()
    with redacting(token) as redact:
        try:
            api = HfApi(token=token)
            progress.note(f"upload: creating {repo_id} if needed")
            api.create_repo(repo_id, repo_type="model", exist_ok=True, private=True if private else None)
            remote = api.get_paths_info(repo_id, [manifest.MANIFEST])
            if remote and getattr(remote[0], "blob_id", None) == git_blob_sha1(folder / manifest.MANIFEST):
                progress.note(f"upload: {repo_id} already holds this release (same manifest.json); nothing to commit")
                return Published(repo_id, None, None, already=True)
            stale = sorted(set(api.list_repo_files(repo_id)) - set(names) - KEEP_ON_HUB)
            progress.note(f"upload: preparing {len(names)} files for the commit")
            operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name)) for name in names]
            operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
            total = sum((folder / n).stat().st_size for n in names)
            progress.note(
                f"upload: one commit to {repo_id}: {len(names)} files ({total / 1e9:.2f} GB)"
                + (f", deleting {len(stale)} file(s) of an earlier release" if stale else "")
            )
            commit = api.create_commit(repo_id, operations=operations, commit_message=message, commit_description=description)
            if tag:
                api.create_tag(repo_id, tag=tag, revision=commit.oid, tag_message=message, exist_ok=True)
            return Published(repo_id, str(commit.commit_url), commit.oid, names, stale)
        except UserError:
            raise
        except Exception as error:  # huggingface_hub and the network raise many types
            failure = redact(f"uploading to {repo_id} failed ({type(error).__name__}: {error}); {_advice(error, repo_id, limit)}")
    raise UserError(failure)  # raised here, outside the handler, so the original exception is not attached
