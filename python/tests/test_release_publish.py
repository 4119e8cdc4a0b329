"""The release pipeline end to end on the tiny checkpoint's fp32 artifacts: dry run, rerun from the
state file, refusals (tampered file, failing parity), and the upload through the real
huggingface_hub client talking to a fake Hub over an in-process HTTP transport."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.release import command

REPO = "someone/vibevoice-tiny"
TOKEN = "hf_FAKEtokenThatMustNeverBePrinted0123456789"


# -- a fake Hub behind huggingface_hub's own HTTP client ------------------------------------------

def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """The Hub endpoints create_repo / get_paths_info / list_repo_files / create_commit / create_tag
    use, served in-process. Every file is uploaded inline ("regular" mode), so the commit carries the
    bytes and the test can check them. `fail_commit_with` makes the commit endpoint answer an error."""

    def __init__(self, token: str):
        self.token = token
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commits: list[dict] = []
        self.tags: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.fail_commit_with: tuple[int, str] | None = None

    def __call__(self, request):
        import httpx2

        self.requests.append(f"{request.method} {request.url.path}")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx2.Response(401, json={"error": "Invalid credentials in Authorization header"})
        path = urllib.parse.unquote(request.url.path)
        if path == "/api/repos/create":
            body = json.loads(request.content)
            repo = f"{body['organization']}/{body['name']}"
            if repo in self.repos:
                return httpx2.Response(409, json={"error": "You already created this model repo", "url": f"https://huggingface.co/{repo}"})
            self.repos[repo] = {".gitattributes": b"*.onnx_data* filter=lfs diff=lfs merge=lfs -text\n"}
            return httpx2.Response(200, json={"url": f"https://huggingface.co/{repo}"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        parts = path.split("/")  # ['', 'api', 'models', owner, name, endpoint, revision...]
        repo, endpoint = f"{parts[3]}/{parts[4]}", parts[5]
        files = self.repos.get(repo)
        if files is None:
            return httpx2.Response(404, json={"error": "Repository not found"})
        if endpoint == "paths-info":
            wanted = urllib.parse.parse_qs(request.content.decode()).get("paths", [])
            return httpx2.Response(200, json=[self._entry(p, files[p]) for p in wanted if p in files])
        if endpoint == "tree":
            return httpx2.Response(200, json=[self._entry(p, data) for p, data in sorted(files.items())])
        if endpoint == "preupload":
            asked = json.loads(request.content)["files"]
            return httpx2.Response(200, json={"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": _blob_id(files[f["path"]]) if f["path"] in files else None} for f in asked
            ]})
        if endpoint == "commit":
            if self.fail_commit_with:
                status, message = self.fail_commit_with
                return httpx2.Response(status, json={"error": message}, headers={"X-Error-Message": message})
            lines = [json.loads(line) for line in request.content.decode().splitlines() if line]
            added = {l["value"]["path"]: base64.b64decode(l["value"]["content"]) for l in lines if l["key"] == "file"}
            deleted = [l["value"]["path"] for l in lines if l["key"] == "deletedFile"]
            for name in deleted:
                files.pop(name, None)
            files.update(added)
            oid = hashlib.sha1(f"{repo}{len(self.commits)}".encode()).hexdigest()
            self.commits.append({"repo": repo, "summary": lines[0]["value"]["summary"], "added": added, "deleted": deleted, "oid": oid})
            return httpx2.Response(200, json={"commitUrl": f"https://huggingface.co/{repo}/commit/{oid}", "commitOid": oid})
        if endpoint == "tag":
            self.tags.append((repo, json.loads(request.content)["tag"]))
            return httpx2.Response(200, json={})
        return httpx2.Response(404, json={"error": f"fake Hub: no endpoint {request.method} {path}"})

    @staticmethod
    def _entry(path: str, data: bytes) -> dict:
        return {"type": "file", "path": path, "oid": _blob_id(data), "size": len(data)}


@pytest.fixture
def fake_hub(monkeypatch):
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    hub = FakeHub(TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    _http.set_client_factory(lambda: httpx2.Client(
        transport=httpx2.MockTransport(hub), event_hooks={"request": [_http.hf_request_event_hook]}, follow_redirects=True,
    ))
    yield hub
    _http.set_client_factory(_http.default_client_factory)


@pytest.fixture
def no_hub(monkeypatch):
    """Any HTTP request fails the test."""
    import httpx2
    from huggingface_hub.utils import _http

    def refuse(request):
        raise AssertionError(f"the Hub was contacted: {request.method} {request.url}")

    _http.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(refuse)))
    yield
    _http.set_client_factory(_http.default_client_factory)


# -- the release under test -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fp32_copy(fp32_artifacts, tmp_path_factory):
    """A private copy: the release hard-links its files, and some tests damage them."""
    return Path(shutil.copytree(fp32_artifacts, tmp_path_factory.mktemp("fp32") / "fp32"))


def publish_args(tiny_checkpoint, fp32_dir, work_dir, test_audio_dir, *extra) -> list[str]:
    return [
        "--repo-id", REPO, "--checkpoint", str(tiny_checkpoint), "--fp32-dir", str(fp32_dir), "--dtypes", "fp32",
        "--work-dir", str(work_dir), "--audio", str(Path(test_audio_dir) / "hello.wav"), "--no-browser", *extra,
    ]


@pytest.fixture(scope="module")
def dry_run(fp32_copy, tiny_checkpoint, test_audio_dir, tmp_path_factory):
    """One full dry run (export reused, gates run once); later tests copy its work folder."""
    import contextlib
    import io

    work = tmp_path_factory.mktemp("work") / "release-work"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir, "--dry-run"))
    return code, out.getvalue(), err.getvalue(), work


def fresh_work(dry_run, tmp_path) -> Path:
    """A copy of the dry run's work folder whose release files are copies, not links to fp32_copy."""
    work = tmp_path / "work"
    shutil.copytree(dry_run[3], work, copy_function=shutil.copyfile)
    return work


def test_dry_run_lists_exactly_the_manifest_files_and_the_card(dry_run):
    code, out, err, work = dry_run
    assert code == 0, err
    folder = work / "release"
    info = manifest.read(folder)
    listed = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and len(fields[0]) == 64:
            listed[fields[2]] = (fields[0], int(fields[1].replace(",", "")))
    want = {name: (e["sha256"], e["bytes"]) for name, e in info["files"].items()}
    want[manifest.MANIFEST] = (manifest.sha256_file(folder / manifest.MANIFEST), (folder / manifest.MANIFEST).stat().st_size)
    assert listed == want
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == set(want)
    for name, (sha, size) in want.items():
        assert manifest.sha256_file(folder / name) == sha and (folder / name).stat().st_size == size
    assert "nothing was uploaded (--dry-run)" in out
    card = (folder / "README.md").read_text()
    assert card.rstrip("\n") in out
    for gate in ("files", "contract", "buffers", "chunks", "parity"):
        assert any(row["gate"] == gate and row["result"] == "pass" for row in info["release"]["gates"]), gate
    assert info["parity"]["fp32"]["greedy_tokens_equal"] is True
    assert f"VibeVoiceASR.load('{REPO}', {{ device: 'webgpu', dtype: 'fp32' }})" in card


def test_rerun_reuses_the_staged_and_checked_release(dry_run, tmp_path, tiny_checkpoint, fp32_copy, test_audio_dir, monkeypatch, capsys):
    work = fresh_work(dry_run, tmp_path)

    def no_validation(*args, **kwargs):
        raise AssertionError("parity ran again on unchanged files")

    monkeypatch.setattr("vibevoice_asr_web.parity.fp32_vs_pytorch.against_pytorch", no_validation)
    assert command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir, "--dry-run")) == 0
    out, err = capsys.readouterr()
    assert "already staged" in err and "already passed on these exact files" in err
    assert "(from an earlier run on the same files)" in out


def test_a_tampered_file_fails_the_sha_gate_and_nothing_is_uploaded(dry_run, tmp_path, tiny_checkpoint, fp32_copy, test_audio_dir, fake_hub, capsys):
    work = fresh_work(dry_run, tmp_path)
    data = work / "release" / "onnx" / "decoder_model_merged.onnx_data"
    blob = bytearray(data.read_bytes())
    blob[1000] ^= 0xFF  # same size, different bytes
    data.write_bytes(bytes(blob))
    code = command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir))
    out, err = capsys.readouterr()
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith("files") and " fp32 " in line)
    assert "FAIL" in row and "onnx/decoder_model_merged.onnx_data fails its sha256 check" in row
    assert "refusing to publish" in err and "files/fp32" in err
    assert fake_hub.commits == [] and fake_hub.requests == []


def test_a_failing_parity_gate_refuses(fp32_copy, tmp_path, tiny_checkpoint, test_audio_dir, no_hub, capsys):
    """fp32 graphs whose lm_head is perturbed (manifest rewritten, so every other gate passes)."""
    import onnx

    broken = Path(shutil.copytree(fp32_copy, tmp_path / "fp32-broken"))
    graph = onnx.load(str(broken / "onnx" / "decoder_model_merged.onnx"), load_external_data=False)
    lm_head = next(t for t in graph.graph.initializer if t.name == "lm_head.weight")
    where = {e.key: e.value for e in lm_head.external_data}
    data = broken / "onnx" / where["location"]
    blob = bytearray(data.read_bytes())
    offset, length = int(where.get("offset", 0)), int(where["length"])
    weights = np.frombuffer(bytes(blob[offset:offset + length]), np.float32)
    noisy = weights + np.random.default_rng(0).standard_normal(weights.shape).astype(np.float32) * 3 * weights.std()
    blob[offset:offset + length] = noisy.astype(np.float32).tobytes()
    data.write_bytes(bytes(blob))
    info = manifest.read(broken)
    manifest.write(broken, **{k: v for k, v in info.items() if k not in ("files", "format", "tool")})

    code = command.main(publish_args(tiny_checkpoint, broken, tmp_path / "work", test_audio_dir, "--dry-run"))
    out, err = capsys.readouterr()
    assert code == 1
    rows = {(l.split()[0], l.split()[1]): l for l in out.splitlines() if l.split()[:1] in (["files"], ["parity"], ["contract"])}
    assert "pass" in rows[("files", "fp32")] and "pass" in rows[("contract", "fp32")]
    assert "FAIL" in rows[("parity", "fp32")] and "decoder_model_merged" in rows[("parity", "fp32")]
    assert "refusing to publish" in err and "parity/fp32" in err
    assert "nothing was uploaded" not in out and not (tmp_path / "work" / "release" / "README.md").exists()


def test_upload_is_one_commit_of_exactly_the_manifest_files_and_resumes(dry_run, tmp_path, tiny_checkpoint, fp32_copy, test_audio_dir, fake_hub, capsys):
    work = fresh_work(dry_run, tmp_path)
    fake_hub.repos[REPO] = {".gitattributes": b"", "onnx/stale_q4.onnx_data_1": b"from an earlier release"}
    args = publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir, "--tag", "v0.1.0")
    assert command.main(args) == 0
    out, err = capsys.readouterr()
    folder = work / "release"
    info = manifest.read(folder)

    assert len(fake_hub.commits) == 1
    commit = fake_hub.commits[0]
    assert set(commit["added"]) == set(info["files"]) | {manifest.MANIFEST}
    for name, data in commit["added"].items():
        assert data == (folder / name).read_bytes()
        if name != manifest.MANIFEST:
            assert hashlib.sha256(data).hexdigest() == info["files"][name]["sha256"]
    assert commit["deleted"] == ["onnx/stale_q4.onnx_data_1"]
    assert fake_hub.tags == [(REPO, "v0.1.0")]
    assert f"published {len(commit['added'])} files" in out
    state = json.loads((work / "state.json").read_text())
    assert state["upload"]["commit_oid"] == commit["oid"]

    # A rerun (e.g. after an interruption once the commit went through) finds the release there.
    assert command.main(args) == 0
    out, _ = capsys.readouterr()
    assert len(fake_hub.commits) == 1 and "already holds this release" in out


def test_the_token_appears_in_no_output_log_or_error(dry_run, tmp_path, tiny_checkpoint, fp32_copy, test_audio_dir, fake_hub, capsys, caplog):
    work = fresh_work(dry_run, tmp_path)
    fake_hub.fail_commit_with = (400, f"invalid request: token {TOKEN} is not valid here")  # a Hub that echoes it
    from huggingface_hub.utils import logging as hf_logging

    library = logging.getLogger("huggingface_hub")
    library.addHandler(caplog.handler)  # the library's loggers do not propagate to the root
    hf_logging.set_verbosity_debug()
    try:
        code = command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir))
    finally:
        hf_logging.set_verbosity_warning()
        library.removeHandler(caplog.handler)
    out, err = capsys.readouterr()
    assert code == 1
    assert "uploading to someone/vibevoice-tiny failed" in err and "rerun the same command" in err
    assert fake_hub.commits == [] and any("/commit/" in r for r in fake_hub.requests)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in (out, err, logged, (work / "state.json").read_text()):
        assert TOKEN not in text
    assert "[HF_TOKEN redacted]" in err  # the echo was there, and was removed


def test_the_token_stays_out_of_raised_errors(tmp_path, fake_hub):
    from vibevoice_asr_web.errors import UserError
    from vibevoice_asr_web.progress import Progress
    from vibevoice_asr_web.release import hub

    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    manifest.write(folder)
    fake_hub.fail_commit_with = (401, f"bad token {TOKEN}")
    with pytest.raises(UserError) as raised:
        hub.publish(folder, REPO, TOKEN, "m", "d", Progress(quiet=True))
    assert TOKEN not in str(raised.value) and "refused the token" in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_publishing_without_a_token_fails_before_building(tmp_path, monkeypatch, capsys):
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    assert command.main(["--repo-id", REPO, "--work-dir", str(tmp_path / "w")]) == 1
    assert "no Hugging Face token" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_no_published_file_names_a_local_path(fp32_copy, tiny_checkpoint, test_audio_dir, tmp_path, no_hub, capsys):
    """A dry run with a quantized variant too (its parity names the fp32 folder it was compared with): no
    text file of the release names the work folder, the checkpoint, the home or a temporary folder."""
    import os
    import re
    import tempfile

    work = tmp_path / "work"
    assert command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir, "--dtypes", "fp32,q4", "--dry-run")) == 0
    out, _ = capsys.readouterr()
    folder = work / "release"
    forbidden = {str(p) for p in (tmp_path, work, tiny_checkpoint, fp32_copy, Path.home(), Path(tempfile.gettempdir()), Path.cwd())}
    forbidden |= {os.path.realpath(p) for p in forbidden}
    forbidden = {p for p in forbidden if p != "/"}
    prefixes = re.compile(r"(?<![\w.])/(work|root|tmp|home)(?![\w-])")
    texts = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.suffix in (".json", ".md", ".txt", ".jinja")}
    assert {"manifest.json", "README.md", "config.json"} <= set(texts)
    texts["dry-run output (the card)"] = out[out.index("----- README.md"):]
    for name, text in texts.items():
        for path in forbidden:
            assert path not in text, f"{name} names {path}"
        assert not prefixes.search(text), f"{name}: {prefixes.search(text).group(0)!r} in {text[max(0, prefixes.search(text).start() - 80):][:200]!r}"
    info = manifest.read(folder)
    assert info["source"] == {"kind": "local", "name": Path(tiny_checkpoint).resolve().name, "revision": info["source"]["revision"]}
    assert info["parity"]["q4"]["reference_dir"] == "."  # compared with this release's own fp32 graphs
    # The same release again: what stands in for the paths does not change (else a rerun would commit again).
    assert command.main(publish_args(tiny_checkpoint, fp32_copy, work, test_audio_dir, "--dtypes", "fp32,q4", "--dry-run")) == 0
    assert manifest.read(folder)["parity"] == info["parity"]


def test_a_release_that_names_a_local_path_is_refused(tmp_path):
    import re

    from vibevoice_asr_web.errors import UserError
    from vibevoice_asr_web.release import stage

    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {"/home": 1, "/tmp": 2}}}))  # vocabulary: any string
    (folder / "README.md").write_text("made from the checkpoint\n")
    stage.check_no_local_paths(folder, tmp_path / "work")
    (folder / "README.md").write_text(f"made from {tmp_path / 'checkpoint'}\n")
    with pytest.raises(UserError, match="README.md in the release names the local path"):
        stage.check_no_local_paths(folder, tmp_path / "work")
    assert stage.without_local_paths({"_name_or_path": str(tmp_path), "text_config": {"_name_or_path": "/x/y", "a": 1}, "b": "owner/name"}) == {
        "text_config": {"a": 1}, "b": "owner/name",
    }
    assert stage.portable({"reference_dir": str(folder), "n": 3}) == {"reference_dir": "release", "n": 3}
    assert stage.portable([str(folder)], folder) == ["."]
    manifest.write(folder)
    assert re.fullmatch(r"release \(manifest-sha256:[0-9a-f]{16}\)", stage.portable(str(folder)))
