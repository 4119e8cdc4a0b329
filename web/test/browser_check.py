"""Transcribes a clip on the demo page in headless Chromium and compares it with onnxruntime.

A developer's check of the web library end to end (the formal browser tests live in e2e/): it
serves the bundle and an artifact folder, loads the page with the given dtype and device, feeds the
clip to the page, clicks Transcribe, and compares prompt ids, generated ids and the first step's
top-10 logits with the Python reference (transformers' processor for the prompt, the project's
onnxruntime runtime for greedy decoding).

    ./bazelw build //web:bundle
    /tmp/venv/bin/python web/test/browser_check.py --artifacts bazel-bin/models/fp32 \\
        [--audio testdata/audio/hello.wav] [--hotwords "Alice, Bob"] [--dtype fp32] [--device webgpu] \\
        [--prefill-chunk 512 --prefill-chunk 16 --prefill-chunk 7]

With --prefill-chunk (repeatable) the page runs once per value (?prefillChunk=N) and each run must
match the reference; the report lists the rows of every prefill decoder call.

Exits 1 when the browser's tokens differ from onnxruntime's or it did not run on the device asked for.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))


def reference(artifacts: Path, audio_path: Path, hotwords: str | None, dtype: str) -> dict:
    from transformers import AutoProcessor

    from vibevoice_asr_web import audio
    from vibevoice_asr_web.runtime.generate import greedy
    from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

    prepared = audio.prepare(audio_path)
    processor = AutoProcessor.from_pretrained(artifacts)
    ids = processor.apply_transcription_request(audio=prepared.samples[: prepared.num_samples], prompt=hotwords)["input_ids"][0].tolist()
    model = OnnxAsrModel(artifacts, dtype)
    embeds = model.prompt_embeddings(ids, model.encode_audio(prepared.samples))
    eos = json.loads((artifacts / "generation_config.json").read_text())["eos_token_id"]
    max_new = json.loads((artifacts / "generation_config.json").read_text()).get("max_new_tokens", 256)
    generation = greedy(model, embeds, tuple(eos if isinstance(eos, list) else [eos]), max_new)
    top = np.argsort(-generation.first_logits, kind="stable")[:10]
    return {"prompt_ids": ids, "generated_ids": generation.token_ids, "stop": generation.stop_reason,
            "top_ids": top.tolist(), "top_values": generation.first_logits[top].tolist(), "max_new_tokens": max_new}  # fmt: skip


def browser(
    bundle: Path, artifacts: Path, audio_path: Path, hotwords: str | None, dtype: str, device: str, max_new: int, prefill_chunk: int | None = None
) -> dict:
    from playwright.sync_api import sync_playwright

    from vibevoice_asr_web.serve import Server

    flags = ["--no-sandbox"] + (["--enable-unsafe-webgpu"] if device != "wasm" else [])
    with Server(bundle, artifacts) as server, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = chromium.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
        chunk_query = f"&prefillChunk={prefill_chunk}" if prefill_chunk is not None else ""
        page.goto(f"{server.url}?dtype={dtype}&device={device}&maxNewTokens={max_new}{chunk_query}")
        page.wait_for_function("() => window.vibevoice !== undefined", timeout=60_000)
        page.evaluate("() => window.vibevoice.app.ready")
        # Records the new rows (inputs_embeds' axis 1) of each decoder call: the prefill's chunks.
        page.evaluate(
            "async () => { const asr = await window.vibevoice.app.load();"
            " const session = asr.model.sessions.decoder_model_merged; const run = session.run.bind(session);"
            " window.decoderRows = []; session.run = (feeds, ...rest) => {"
            " window.decoderRows.push(feeds.inputs_embeds.dims[1]); return run(feeds, ...rest); }; }"
        )
        page.evaluate(
            "([b64, name, hotwords]) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));"
            " window.vibevoice.app.setAudio(new Blob([bytes]), name);"
            " document.getElementById('hotwords-input').value = hotwords; }",
            [base64.b64encode(audio_path.read_bytes()).decode(), audio_path.name, hotwords or ""],
        )
        started = time.perf_counter()
        page.click("#transcribe-button")
        page.wait_for_function("() => ['done', 'error'].includes(document.getElementById('status').dataset.state)", timeout=900_000)
        seconds = time.perf_counter() - started
        if page.get_attribute("#status", "data-state") == "error":
            raise SystemExit(f"the page failed ({page.get_attribute('#error', 'data-code')}): {page.inner_text('#error')}\n" + "\n".join(messages))
        result = page.evaluate("() => window.vibevoice.app.result")
        runtime = page.evaluate("() => window.vibevoice.app.asr.runtimeInfo()")
        decoder_rows = page.evaluate("() => window.decoderRows")
        downloads = page.eval_on_selector_all("#download-files li", "items => items.map((li) => [li.dataset.file, li.dataset.state])")
        chromium.close()
    prefill_rows = decoder_rows[: len(decoder_rows) - max(len(result["generatedIds"]) - 1, 0)]
    return {"result": result, "runtime": runtime, "downloads": downloads, "seconds": seconds, "console": messages, "prefill_rows": prefill_rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "bazel-bin" / "web" / "bundle")
    parser.add_argument("--artifacts", type=Path, required=True, help="an artifact folder (e.g. bazel-bin/models/fp32)")
    parser.add_argument("--audio", type=Path, default=REPO / "testdata" / "audio" / "hello.wav")
    parser.add_argument("--hotwords")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--device", default="webgpu", choices=["webgpu", "wasm"])
    parser.add_argument("--prefill-chunk", type=int, action="append", help="?prefillChunk=N; repeat to run once per value")
    args = parser.parse_args()
    want = reference(args.artifacts, args.audio, args.hotwords, args.dtype)
    results = [check(args, want, chunk) for chunk in (args.prefill_chunk or [None])]
    print("OK" if all(results) else "MISMATCH")
    return 0 if all(results) else 1


def check(args: argparse.Namespace, want: dict, prefill_chunk: int | None) -> bool:
    got = browser(args.bundle, args.artifacts, args.audio, args.hotwords, args.dtype, args.device, want["max_new_tokens"], prefill_chunk)
    r, runtime = got["result"], got["runtime"]
    top_diff = max(abs(a - b) for a, b in zip(r["firstStepTopLogits"]["values"], want["top_values"]))
    report = {
        "prefill_chunk": prefill_chunk,
        "prefill_decoder_rows": got["prefill_rows"],
        "device": runtime["device"],
        "sessions": runtime["sessions"],
        "webgpu_device_created": runtime["webgpuDeviceCreated"],
        "adapter": {k: runtime["adapter"].get(k) for k in ("vendor", "architecture", "isFallbackAdapter")},
        "prompt_ids_equal": r["promptIds"] == want["prompt_ids"],
        "generated_ids_equal": r["generatedIds"] == want["generated_ids"],
        "generated_tokens": [len(r["generatedIds"]), len(want["generated_ids"])],
        "stop": [r["stopReason"], want["stop"]],
        "top10_ids_equal": r["firstStepTopLogits"]["ids"] == want["top_ids"],
        "top10_max_abs_diff": top_diff,
        "tokens_per_second": r["tokensPerSecond"],
        "timings_ms": {k: round(v) for k, v in r["timings"].items()},
        "downloads": got["downloads"],
        "console_errors_and_warnings": got["console"],
    }
    print(json.dumps(report, indent=1))
    on_device = runtime["device"] == args.device and all(s.get("device") == args.device for s in runtime["sessions"].values())
    if args.device == "webgpu":
        on_device = on_device and runtime["webgpuDeviceCreated"]
    ok = report["prompt_ids_equal"] and report["generated_ids_equal"] and report["top10_ids_equal"] and top_diff <= 1e-3 and on_device
    if prefill_chunk is not None:  # the prompt went through the decoder in calls of at most N rows
        rows = got["prefill_rows"]
        ok = ok and sum(rows) == len(r["promptIds"]) and max(rows) <= prefill_chunk
    print(f"prefill chunk {prefill_chunk}: {'OK' if ok else 'MISMATCH'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
