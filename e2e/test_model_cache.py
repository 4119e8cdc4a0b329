"""The model is cached across visits: after one transcription a reload fetches no graph or data file
(the browser's request log) and gives the same tokens; a corrupted cached file is found by its sha256,
downloaded again, and the tokens are still the same; the demo lists the stored model and removes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness import PageErrors

CLIP = "hello.wav"
LABEL = "a0"  # the first folder (//models:fp32 by default): fp32 runs on both backends
GRAPH_FILE = re.compile(r"\.onnx(_data(_\d+)?)?$")

# Reaches into the cache's OPFS layout (web/src/vibevoice/model/cache_store.ts) and flips one byte of
# a stored file, keeping its size: only the sha256 check can tell.
CORRUPT = """async ([folder, file]) => {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('vibevoice-asr-cache');
  const entry = await (await root.getDirectoryHandle(encodeURIComponent(folder))).getDirectoryHandle(encodeURIComponent(file));
  const part = await entry.getFileHandle('part-000000');
  const bytes = new Uint8Array(await (await part.getFile()).arrayBuffer());
  bytes[bytes.length >> 1] ^= 0xff;
  const writable = await part.createWritable();
  await writable.write(bytes);
  await writable.close();
  return bytes.length;
}"""

# A download cut after `keep` bytes, as the cache leaves it (its first part committed, meta.json with
# the server's ETag): the next load must ask for the rest only.
SEED_PARTIAL = """async ([folder, file, keep]) => {
  const expected = (await (await fetch(folder + 'manifest.json')).json()).files[file];
  const response = await fetch(folder + file, {cache: 'no-store'});
  const head = new Uint8Array(await response.arrayBuffer()).slice(0, keep);
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('vibevoice-asr-cache', {create: true});
  const entry = await (await root.getDirectoryHandle(encodeURIComponent(folder), {create: true}))
    .getDirectoryHandle(encodeURIComponent(file), {create: true});
  const write = async (name, data) => {
    const writable = await (await entry.getFileHandle(name, {create: true})).createWritable();
    await writable.write(data);
    await writable.close();
  };
  const etag = response.headers.get('ETag');
  await write('meta.json', JSON.stringify({file, bytes: expected.bytes, sha256: expected.sha256, etag, complete: false}));
  await write('part-000000', head);
  return etag;
}"""

TRANSCRIBE = """async ([folder, device, dtype, clip, maxNewTokens]) => {
  const { VibeVoiceASR } = await window.vibevoice.library();
  const asr = await VibeVoiceASR.load(folder, {device, dtype});
  const r = await asr.transcribe(new URL(clip, location.href), {maxNewTokens});
  await asr.dispose();
  return r.generatedIds;
}"""


def _graph_requests(requests: list[str], folder: str) -> list[str]:
    return sorted(u[len(folder):] for u in requests if u.startswith(folder) and GRAPH_FILE.search(u.split("?")[0]))


def _open(page, url: str) -> None:
    """Opens the demo, or reloads it (a new visit: nothing in memory, only what the browser stored)."""
    if page.url == url:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("() => window.vibevoice !== undefined && window.vibevoice.app !== undefined", timeout=60_000)
    page.evaluate("() => window.vibevoice.app.ready")


def _transcribe(page, url: str, device: str, dtype: str, max_new_tokens: int) -> list[int]:
    _open(page, url)
    return page.evaluate(TRANSCRIBE, [f"models/{LABEL}/", device, dtype, f"models/audio/{CLIP}", max_new_tokens])


def _stored_row(page, folder: str):
    page.evaluate("() => document.getElementById('cache-panel').open = true")
    return page.locator(f"[data-testid=cached-model][data-folder='{folder}']")


def _case(server, device, references):
    """The dtype the test loads (fp32 when the folder has it), its reference for CLIP, the folder's URL and the demo's."""
    variants = references[LABEL]["variants"]
    dtype = "fp32" if "fp32" in variants else next(iter(variants))
    variant = variants[dtype]
    want = next(r for r in variant["results"] if r["audio"] == CLIP)
    folder = f"{server.url}models/{LABEL}/"
    return dtype, variant, want, folder, f"{server.url}index.html?model=models/{LABEL}/&device={device}&dtype={dtype}"


def test_reload_reads_the_model_from_the_cache(browser, server, device, references):
    dtype, variant, want, folder, url = _case(server, device, references)
    errors = PageErrors()
    page = browser.new_page()
    errors.watch(page)
    requests: list[str] = []
    warnings: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: msg.type == "warning" and warnings.append(msg.text))
    try:
        first = _transcribe(page, url, device, dtype, variant["max_new_tokens"])
        assert first == want["generated_ids"]
        downloaded = _graph_requests(requests, folder)
        assert downloaded, f"the first load fetched no graph file: {requests}"
        assert len(set(downloaded)) == len(downloaded), f"a graph file was requested twice (a HEAD first?): {downloaded}"
        # The demo (reloaded after the first load) lists the folder as stored, whole.
        _open(page, url)
        assert _stored_row(page, folder).get_attribute("data-complete") == "true"

        requests.clear()
        again = _transcribe(page, url, device, dtype, variant["max_new_tokens"])
        assert _graph_requests(requests, folder) == [], "a reload downloaded graph files again"
        assert again == first

        corrupted = next((name for name in downloaded if "onnx_data" in name), downloaded[0])
        assert page.evaluate(CORRUPT, [folder, corrupted]) > 0
        requests.clear()
        repaired = _transcribe(page, url, device, dtype, variant["max_new_tokens"])
        assert _graph_requests(requests, folder) == [corrupted], "the corrupted file, and only it, is downloaded again"
        assert any("fails its sha256 check" in w and corrupted in w for w in warnings), warnings
        assert repaired == first

        # The demo's remove control deletes it; the next load downloads every graph file again.
        _open(page, url)
        row = _stored_row(page, folder)
        row.locator("[data-testid=remove-cached-model]").click()
        row.wait_for(state="detached")
        requests.clear()
        assert _transcribe(page, url, device, dtype, variant["max_new_tokens"]) == first
        assert _graph_requests(requests, folder) == downloaded
        errors.check()
    finally:
        page.close()


def test_a_cut_download_resumes_with_range(browser, server, device, references):
    dtype, variant, want, folder, url = _case(server, device, references)
    manifest = json.loads((runfiles_folder(server, LABEL) / "manifest.json").read_text())
    errors = PageErrors()
    page = browser.new_page()
    errors.watch(page)
    requests = []
    page.context.on("request", lambda request: requests.append(request))
    try:
        _open(page, url)
        data_files = [name for name in manifest["files"] if "onnx_data" in name]
        file = max(data_files, key=lambda name: manifest["files"][name]["bytes"])
        keep = manifest["files"][file]["bytes"] // 3
        etag = page.evaluate(SEED_PARTIAL, [folder, file, keep])
        assert etag
        requests.clear()
        assert _transcribe(page, url, device, dtype, variant["max_new_tokens"]) == want["generated_ids"]
        asked = [r.all_headers() for r in requests if r.url == folder + file]
        assert [(h.get("range"), h.get("if-range")) for h in asked] == [(f"bytes={keep}-", etag)], asked
        _open(page, url)
        assert _stored_row(page, folder).get_attribute("data-complete") == "true"
        errors.check()
    finally:
        page.close()


def runfiles_folder(server, label: str) -> Path:
    """The folder the server shows at models/<label>/ (a link in its root)."""
    return Path(server.httpd.RequestHandlerClass.model_root) / label
