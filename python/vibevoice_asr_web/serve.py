"""A local web server for the demo bundle and an artifact folder, on 127.0.0.1 only.

It serves two roots and nothing outside them: the bundle at `/` and the artifact folder at
`/models/`. Every response carries a Content-Security-Policy that allows no remote origin and the
cross-origin isolation headers that multithreaded wasm needs.
"""

from __future__ import annotations

import argparse
import http.server
import mimetypes
import os
import posixpath
import threading
import urllib.parse
from pathlib import Path

from vibevoice_asr_web.errors import UserError

MODELS_PREFIX = "/models/"

# Where Transformers.js downloads a Hub repo's files (the API, then the LFS/Xet storage it redirects to).
HUB_ORIGINS = "https://huggingface.co https://*.huggingface.co https://*.hf.co"


def content_security_policy(allow_hub: bool = False) -> str:
    """'self' and in-page blob:/data: only (wasm needs 'wasm-unsafe-eval'); the Hub only when asked."""
    connect = "connect-src 'self' blob: data:" + (f" {HUB_ORIGINS}" if allow_hub else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' blob:",
            "worker-src 'self' blob:",
            connect,
            "img-src 'self' blob: data:",
            "media-src 'self' blob: data: mediastream:",
            "style-src 'self' 'unsafe-inline'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'none'",
        ]
    )


SECURITY_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

CONTENT_TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".onnx": "application/octet-stream",
    ".srt": "text/plain; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
}


def resolve_inside(root: Path, relative_url_path: str) -> Path | None:
    """The file under `root` that a URL path names, or None if it would leave the root."""
    parts = [p for p in posixpath.normpath("/" + relative_url_path).split("/") if p not in ("", ".")]
    if any(p == ".." or "\\" in p or "\0" in p for p in parts):
        return None
    # Symlinks inside a root are the owner's choice (Bazel outputs and the Hub cache use them), so
    # they are followed; what a URL cannot do is name a path outside the root.
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


class Handler(http.server.SimpleHTTPRequestHandler):
    bundle_root: Path
    model_root: Path | None
    quiet: bool = False
    allow_hub: bool = False

    def _target(self) -> Path | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path.startswith(MODELS_PREFIX) or path == MODELS_PREFIX.rstrip("/"):
            if self.model_root is None:
                return None
            return resolve_inside(self.model_root, path[len(MODELS_PREFIX):])
        return resolve_inside(self.bundle_root, path)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        target = self._target()
        if target is None:
            self.send_error(404, "Not found")
            return
        size = target.stat().st_size
        self.send_response(200)
        content_type = CONTENT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        if target.name.rsplit(".", 1)[-1].startswith("onnx_data"):
            content_type = "application/octet-stream"
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            with target.open("rb") as f:
                self.copyfile(f, self.wfile)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.allow_hub))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)

    def copyfile(self, source, outputfile):
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancelled the download


class Server:
    """The server on a background thread; use as a context manager in tests."""

    def __init__(self, bundle_dir: str | os.PathLike, model_dir: str | os.PathLike | None = None, port: int = 0, quiet=True, allow_hub=False):
        bundle_root = Path(bundle_dir).resolve()
        if not (bundle_root / "index.html").is_file() and not any(bundle_root.glob("*.html")):
            raise UserError(f"{bundle_dir} holds no web bundle (no .html files): build it with ./bazelw build //web:bundle")
        model_root = None
        if model_dir is not None:
            model_root = Path(model_dir).resolve()
            if not model_root.is_dir():
                raise UserError(f"model folder {model_dir} does not exist: build one with ./bazelw build //models:int4")
        handler = type("BoundHandler", (Handler,), {"bundle_root": bundle_root, "model_root": model_root, "quiet": quiet, "allow_hub": allow_hub})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Server":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle-dir", "--bundle_dir", required=True, help="the built web bundle (//web:bundle)")
    parser.add_argument("--model-dir", "--model_dir", help="an artifact folder to serve under /models/")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000, 0 = any free port)")
    parser.add_argument("--allow-hub", action="store_true", help="let the page download Hub repo ids (adds the Hub to the CSP)")


def run(args: argparse.Namespace) -> int:
    server = Server(args.bundle_dir, args.model_dir, args.port, quiet=False, allow_hub=args.allow_hub)
    print(f"Serving {args.bundle_dir} at {server.url}" + (f" and {args.model_dir} at {server.url}models/" if args.model_dir else ""))
    print("Only this machine can connect (127.0.0.1). Press Ctrl+C to stop.", flush=True)
    try:
        server.httpd.serve_forever()
    finally:
        server.httpd.server_close()
    return 0
