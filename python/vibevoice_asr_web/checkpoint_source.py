"""Where a checkpoint comes from: a local folder, or a Hugging Face Hub repo id at a revision.

Hub downloads go through huggingface_hub (pinned revision recorded in the manifest). Without a
network they fail within seconds with a message that names the local-folder alternative; a Hub that
does not answer fails after VIBEVOICE_HUB_TIMEOUT seconds (hub_timeouts).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vibevoice_asr_web.errors import UserError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
CHECKPOINT_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "LICENSE*", "README.md"]


@dataclass(frozen=True)
class CheckpointSource:
    path: Path  # a local folder holding config.json and the weights
    name: str  # the Hub repo id, or the folder's name
    revision: str  # the Hub commit sha, or a fingerprint of a local folder's files
    kind: str  # "hub" or "local"

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "revision": self.revision}


def local_fingerprint(folder: Path) -> str:
    """Identifies a local checkpoint cheaply: config bytes plus every weight file's name and size."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix == ".json" or path.suffix == ".safetensors"):
            digest.update(path.name.encode() + b"\0" + str(path.stat().st_size).encode() + b"\0")
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return "local-sha256:" + digest.hexdigest()[:16]


def check_local(folder: Path) -> None:
    config = folder / "config.json"
    if not config.is_file():
        raise UserError(f"{folder} holds no config.json: expected a VibeVoice-ASR checkpoint (microsoft/VibeVoice-ASR or microsoft/VibeVoice-ASR-HF)")
    try:
        json.loads(config.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{config} is not valid JSON ({error}): the checkpoint is damaged; download it again") from None
    if not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder} holds no *.safetensors weights: download the full checkpoint, not just its config")


def resolve(checkpoint: str, revision: str | None = None) -> CheckpointSource:
    """A local folder as is, or a Hub repo id downloaded (or found in the local Hub cache)."""
    local = Path(checkpoint).expanduser()
    if local.is_dir():
        check_local(local)
        snapshot = local.resolve()
        # A folder inside the Hub cache (…/snapshots/<sha>) knows its own revision.
        if snapshot.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", snapshot.name):
            return CheckpointSource(local, snapshot.parent.parent.name.removeprefix("models--").replace("--", "/"), snapshot.name, "local")
        return CheckpointSource(local, local.resolve().name, local_fingerprint(local), "local")
    if os.path.exists(checkpoint):
        raise UserError(f"{checkpoint} is a file; expected a checkpoint folder or a Hub repo id such as microsoft/VibeVoice-ASR-HF")
    if not HUB_ID.match(checkpoint):
        raise UserError(
            f"{checkpoint!r} is neither an existing folder nor a Hub repo id (OWNER/NAME): "
            "pass the folder that holds config.json and the *.safetensors weights"
        )
    return download(checkpoint, revision)


def download(repo_id: str, revision: str | None) -> CheckpointSource:
    import huggingface_hub
    from huggingface_hub.utils import HfHubHTTPError

    from vibevoice_asr_web import hub_timeouts

    limit = hub_timeouts.install()

    offline_hint = (
        f"could not download {repo_id} from the Hugging Face Hub ({{reason}}). Without a network, download it "
        f"elsewhere (huggingface-cli download {repo_id} --local-dir DIR), copy DIR here and pass --checkpoint DIR"
    )
    try:
        path = huggingface_hub.snapshot_download(repo_id, revision=revision, allow_patterns=CHECKPOINT_PATTERNS)
    except (HfHubHTTPError, OSError, ValueError) as error:
        reason = type(error).__name__
        if timeout := hub_timeouts.timed_out(error):
            reason = hub_timeouts.advice(timeout, limit)
        elif "401" in str(error) or "403" in str(error):
            reason = "access denied: log in with `huggingface-cli login` or set HF_TOKEN, and accept the model's terms"
        elif "404" in str(error) or "RepositoryNotFound" in reason:
            reason = "no such repository or revision"
        elif "LocalEntryNotFound" in reason:
            reason = "the Hub is unreachable and the checkpoint is not in the local Hub cache"
        raise UserError(offline_hint.format(reason=reason)) from None
    except Exception as error:  # network stacks raise many types; none of them should become a traceback
        timeout = hub_timeouts.timed_out(error)
        raise UserError(offline_hint.format(reason=hub_timeouts.advice(timeout, limit) if timeout else type(error).__name__)) from None
    folder = Path(path)
    check_local(folder)
    return CheckpointSource(folder, repo_id, folder.name, "hub")
