"""The npm package as an app uses it: `npm pack`, install the tarball into a scratch app, bundle the
app and the package's Worker with esbuild, serve it and transcribe hello.wav in Chromium, in the Worker.

Offline, inside Bazel too: the scratch app's node_modules holds the package's three dependencies
(links to the node_modules already installed), so `npm install --offline` of the tarball finds them
satisfied and fetches nothing; esbuild finds their own dependencies through nodePaths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness import PageErrors
from vibevoice_asr_web import runfiles
from vibevoice_asr_web.serve import Server

CLIP = "hello.wav"
PACKAGE_FILES = ["package.json", "README.md", "build_package.mjs", "artifact_description.mjs", "ort_files.mjs", "tsconfig.json", "tsconfig.worker.json", "tsconfig.package.json", "src"]

APP = """\
import { VibeVoiceASRClient } from 'vibevoice-asr-web/client';

window.transcribe = async (folder, clip, options) => {
  const asr = await VibeVoiceASRClient.load(folder, { device: options.device, dtype: options.dtype });
  const result = await asr.transcribe(clip, { maxNewTokens: options.maxNewTokens });
  return { generatedIds: result.generatedIds, text: result.text, runtime: await asr.runtimeInfo() };
};
"""
PAGE = '<!doctype html><meta charset="utf-8"><title>scratch app</title><link rel="icon" href="data:,"><script type="module" src="app.js"></script>\n'


def _node_modules() -> Path:
    """@npm//:node_modules in the runfiles, else this checkout's web/node_modules."""
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        if os.environ.get(variable) and (Path(os.environ[variable]) / "npm" / "node_modules").is_dir():
            return Path(os.environ[variable]) / "npm" / "node_modules"
    return runfiles.locate("web/node_modules", "//web:package_files (npm ci in web/)")


def _run(args, cwd, env):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def scratch_app(tmp_path_factory):
    """The packed tarball installed into a new app, bundled into out/ (app.js, worker.js, ort/)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.fail("node and npm must be on PATH (Debian: apt-get install nodejs npm)")
    root = tmp_path_factory.mktemp("package")
    env = {**os.environ, "HOME": str(root / "home"), "npm_config_cache": str(root / "npm-cache"), "npm_config_update_notifier": "false"}
    node_modules = _node_modules()
    source = root / "web"
    source.mkdir()
    for name in PACKAGE_FILES:
        (shutil.copytree if (runfiles.locate(f"web/{name}")).is_dir() else shutil.copyfile)(runfiles.locate(f"web/{name}"), source / name)
    (source / "node_modules").symlink_to(node_modules, target_is_directory=True)
    _run([node, "build_package.mjs", "--artifact-description", str(runfiles.locate("web/artifact_description.json"))], source, env)
    packed = _run([npm, "pack", "--ignore-scripts", "--json", "--pack-destination", str(root)], source, env)
    tarball = root / json.loads(packed)[0]["filename"]
    manifest = json.loads((source / "package.json").read_text())

    app = root / "app"
    (app / "node_modules").mkdir(parents=True)
    (app / "package.json").write_text(json.dumps({"name": "scratch-app", "private": True, "type": "module"}))
    for dependency in manifest["dependencies"]:
        link = app / "node_modules" / dependency
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(node_modules / dependency, target_is_directory=True)
    _run([npm, "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", str(tarball)], app, env)
    (app / "main.js").write_text(APP)
    out = app / "out"
    out.mkdir()
    (out / "index.html").write_text(PAGE)
    bundle = (
        "const { build } = await import(process.argv[1]);"
        "await build({ entryPoints: [{ in: 'main.js', out: 'app' }, { in: 'vibevoice-asr-web/worker', out: 'worker' }],"
        # splitting and the one external are web/README.md's advice: the wasm decoders stay chunks, loaded when needed
        " outdir: 'out', bundle: true, splitting: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning',"
        f" nodePaths: [{json.dumps(str(node_modules))}],"
        " external: ['node:*', 'fs', 'path', 'url', 'worker_threads', 'module', '@wasm-audio-decoders/opus-ml'] });"
    )
    _run([node, "--input-type=module", "-e", bundle, (node_modules / "esbuild" / "lib" / "main.js").as_uri()], app, env)
    # The one step an esbuild app adds by hand (web/README.md): the wasm files beside the Worker's bundle.
    shutil.copytree(app / "node_modules" / "vibevoice-asr-web" / "dist" / "ort", out / "ort")
    return {"tarball": tarball, "manifest": manifest, "app": app, "out": out}


def _static_imports(out: Path, entry: str) -> list[str]:
    """`entry` and every file of the bundle it imports statically (esbuild writes `from"./chunk-X.js"`)."""
    seen, todo = [], [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        text = (out / name).read_text()
        todo += [(Path(name).parent / m).as_posix() for m in re.findall(r"""(?:from|import)\s*["']\./([^"']+)["']""", text)]
    return seen


def test_tarball_is_a_package(scratch_app):
    manifest = scratch_app["manifest"]
    assert "private" not in manifest and manifest["name"] and manifest["version"] and manifest["type"] == "module"
    assert {"@huggingface/transformers", "onnxruntime-web"} <= set(manifest["dependencies"])
    with tarfile.open(scratch_app["tarball"]) as tar:
        names = {n.removeprefix("package/") for n in tar.getnames()}
    for subpath, entry in manifest["exports"].items():
        if isinstance(entry, dict):
            for target in entry.values():
                assert target.removeprefix("./") in names, f"exports[{subpath!r}] names {target}, which the tarball lacks"
    for name in ("index.js", "client.js", "worker.js"):
        assert f"dist/{name}.map" in names, f"no source map for dist/{name}"
        code = (scratch_app["app"] / "node_modules" / "vibevoice-asr-web" / "dist" / name).read_text()
        # Bundled in: nothing of the dependencies; imported: only declared packages.
        imported = set(re.findall(r"""from\s*["']([^"'./][^"']*)["']|import\(\s*["']([^"'./][^"']*)["']\s*\)""", code))
        packages = {re.match(r"(@[^/]+/)?[^/]+", a or b).group(0) for a, b in imported}
        assert packages <= set(manifest["dependencies"]), f"dist/{name} imports undeclared packages: {packages - set(manifest['dependencies'])}"
        assert not re.search(r"class (Tensor|PreTrainedModel|InferenceSession|Input)\b", code), f"dist/{name} bundles a dependency"
        assert "vibevoice:artifact-description" not in code, f"dist/{name} imports the artifact description instead of inlining it"
    assert {"dist/ort/ort-wasm-simd-threaded.asyncify.wasm", "dist/ort/ort-wasm-simd-threaded.wasm", "dist/types/index.d.ts", "dist/types/client.d.ts"} <= names


def test_scratch_app_transcribes_in_a_worker(scratch_app, browser, artifact_folders, audio_files, references, device):
    label = "a0"
    dtype = next(iter(references[label]["variants"]))
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == CLIP)
    # The page's own bundle (app.js and the chunks it imports) is the client only: Transformers.js,
    # onnxruntime-web and the wasm decoders load in the Worker, the decoders only when a file needs one.
    main_thread = _static_imports(scratch_app["out"], "app.js")
    code = "".join((scratch_app["out"] / name).read_text() for name in main_thread)
    assert "VoxtralForConditionalGeneration" not in code and "onnxruntime" not in code, f"the main-thread bundle carries the model code: {main_thread}"
    assert len(code) < 1_000_000, f"the main-thread bundle is {len(code):,} characters: {main_thread}"
    models = scratch_app["app"] / "models"
    models.mkdir(exist_ok=True)
    if not (models / label).exists():
        (models / label).symlink_to(artifact_folders[label].resolve(), target_is_directory=True)
        shutil.copyfile(next(a for a in audio_files if a.name == CLIP), models / CLIP)
    errors = PageErrors()
    with Server(scratch_app["out"], models, extra_roots=[artifact_folders[label].resolve()]) as server:
        page = browser.new_page()
        errors.watch(page)
        try:
            page.goto(f"{server.url}index.html")
            page.wait_for_function("() => typeof window.transcribe === 'function'", timeout=60_000)
            got = page.evaluate(
                "([folder, clip, options]) => window.transcribe(folder, clip, options)",
                [f"models/{label}/", f"models/{CLIP}", {"device": device, "dtype": dtype, "maxNewTokens": variant["max_new_tokens"]}],
            )
        finally:
            page.close()
    assert got["runtime"]["device"] == device and all(s.get("device") == device for s in got["runtime"]["sessions"].values()), got["runtime"]
    assert got["generatedIds"] == want["generated_ids"]
    assert got["text"] == want["text"]
    errors.check()
