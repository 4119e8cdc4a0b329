"""A local web server for the demo bundle and an artifact folder, on 127.0.0.1 only.

It serves two roots and nothing outside them: the bundle at `/` and the artifact folder at
`/models/`. A file is served only if its real path (symlinks followed) lies inside a root, and only
to requests addressed to 127.0.0.1, localhost or [::1] on its own port (no DNS rebinding). Every
response carries a Content-Security-Policy that allows no remote origin and the cross-origin
isolation headers that multithreaded wasm needs. Files stream with Range, ETag and Last-Modified
support, so multi-GB weights download in parts and revalidate with 304.
"""

from __future__ import annotations

import argparse
import email.utils
import errno
import http.server
import mimetypes
import os
import posixpath
import re
import sys
import threading
import urllib.parse
from collections.abc import Iterable
from datetime import timezone
from pathlib import Path

from vibevoice_asr_web.errors import UserError

MODELS_PREFIX = "/models/"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
MAX_PATH = 8192  # longer request targets get 414: no real file here has a path near this
MAX_LOG_LINE = 300  # a hostile request line must not flood the terminal

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


def is_within(path: str, root: str) -> bool:
    """Whether the real path `path` is `root` or below it (both from os.path.realpath)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_inside(root: Path, relative_url_path: str, allowed: Iterable[str] = ()) -> Path | None:
    """The real file that a URL path names under `root`, or None if the URL or its real path leaves
    the allowed real roots (default: `root` itself)."""
    parts = [p for p in posixpath.normpath("/" + relative_url_path).split("/") if p not in ("", ".")]
    if any(p == ".." or "\\" in p or "\0" in p for p in parts):
        return None
    allowed = tuple(allowed) or (os.path.realpath(root),)
    try:
        candidate = root.joinpath(*parts)
        if candidate.is_dir():
            candidate = candidate / "index.html"
        # Symlinks are followed, but only to files inside a root: a link to /etc/passwd is not served.
        real = os.path.realpath(candidate)
        if not any(is_within(real, r) for r in allowed):
            return None
        return Path(real) if os.path.isfile(real) else None
    except (OSError, ValueError):  # a name too long for the file system, and the like
        return None


def host_allowed(host_headers: list[str], port: int) -> bool:
    """Exactly one Host header naming a loopback name, with this server's port if it gives one.
    A DNS-rebound page sends its own domain here, so it is refused."""
    if len(host_headers) != 1:
        return False
    match = re.fullmatch(r"(\[::1\]|[^:\[\]]+)(?::(\d{1,5}))?", host_headers[0].strip())
    if not match or match.group(1).lower() not in LOOPBACK_NAMES:
        return False
    return match.group(2) is None or int(match.group(2)) == port


def parse_range(header: str, size: int) -> range | None:
    """The bytes one `Range: bytes=...` asks for. None: ignore the header (malformed, or several
    ranges; the whole file is sent). An empty range: nothing of the file is asked for (416)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*", header)
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # bytes=-n: the last n bytes
        return range(max(size - int(last), 0), size)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return range(0)
    return range(start, min(int(last) + 1, size) if last else size)


def http_date_seconds(value: str) -> float | None:
    """The POSIX time an HTTP date names, or None if it is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vibevoice-asr-web"
    bundle_root: Path
    model_root: Path | None
    real_roots: tuple[str, ...] = ()
    quiet: bool = False
    allow_hub: bool = False

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        port = self.server.server_address[1]
        if not host_allowed(self.headers.get_all("Host") or [], port):
            self.send_error(421, f"Only http://127.0.0.1:{port}/ is served here")
            return
        if len(self.path) > MAX_PATH:
            self.send_error(414)
            return
        target = self._target()
        try:
            file = target.open("rb") if target else None
        except OSError:  # unreadable, or gone since it was found
            file = None
        if file is None:
            self.send_error(404, "Not found")
            return
        with file:
            self._send_file(file, target, send_body)

    def _target(self) -> Path | None:
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if path.startswith(MODELS_PREFIX) or path == MODELS_PREFIX.rstrip("/"):
            if self.model_root is None:
                return None
            return resolve_inside(self.model_root, path[len(MODELS_PREFIX):], self.real_roots)
        return resolve_inside(self.bundle_root, path, self.real_roots)

    def _send_file(self, file, target: Path, send_body: bool) -> None:
        stat = os.fstat(file.fileno())
        # Size and mtime change whenever a build or a download rewrites the file.
        validators = {
            "ETag": f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"',
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
        }
        if self._not_modified(validators["ETag"], stat.st_mtime):
            self._send_head(304, validators)
            return
        wanted = self._wanted_range(stat.st_size, validators)
        if wanted is not None and not wanted:
            self._send_head(416, {"Content-Range": f"bytes */{stat.st_size}", "Content-Length": "0"})
            return
        part = wanted or range(stat.st_size)
        headers = {"Content-Type": content_type(target), "Content-Length": str(len(part)), "Accept-Ranges": "bytes", **validators}
        if wanted:
            headers["Content-Range"] = f"bytes {part.start}-{part.stop - 1}/{stat.st_size}"
        self._send_head(206 if wanted else 200, headers)
        if send_body and part:
            self._send_body(file, part)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # it overrides If-Modified-Since; compared weakly
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or etag in tags
        since = http_date_seconds(self.headers.get("If-Modified-Since") or "")
        return since is not None and int(mtime) <= since

    def _wanted_range(self, size: int, validators: dict[str, str]) -> range | None:
        header = self.headers.get("Range")
        if header is None:
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() not in validators.values():
            return None  # the client's copy is stale: it gets the whole new file
        return parse_range(header, size)

    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        # Browsers keep a copy but ask each time; the validators make the answer a cheap 304.
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_body(self, file, part: range) -> None:
        # sendfile streams from the page cache (read/write in blocks where it cannot): never the whole file in memory.
        sent = self.connection.sendfile(file, part.start, len(part))
        if sent < len(part):  # the file shrank meanwhile: the client must see a short body, not a hang
            self.close_connection = True

    def version_string(self) -> str:
        return self.server_version  # not the Python version

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.allow_hub))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002
        if not self.quiet:
            super().log_message("%s", (format % args)[:MAX_LOG_LINE])


def content_type(target: Path) -> str:
    if target.name.rsplit(".", 1)[-1].startswith("onnx_data"):
        return "application/octet-stream"
    return CONTENT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"


class LocalHTTPServer(http.server.ThreadingHTTPServer):
    """One daemon thread per connection and a deep listen backlog: a page opening hundreds of
    requests at once is answered, not refused."""

    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the browser cancelled or went away: nothing to report
        super().handle_error(request, client_address)


def listen_error(port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} is in use: pass --port N or stop the other server"
    if error.errno == errno.EACCES:
        return f"port {port} needs privileges here: pass --port N with N above 1023 (0 = any free port)"
    return f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}"


class Server:
    """The server on a background thread; use as a context manager in tests.

    `extra_roots`: more real folders that symlinks inside the two roots may point into (e.g. a
    folder of links to artifact folders elsewhere); any other link target is refused.
    """

    def __init__(
        self,
        bundle_dir: str | os.PathLike,
        model_dir: str | os.PathLike | None = None,
        port: int = 0,
        quiet=True,
        allow_hub=False,
        extra_roots: Iterable[str | os.PathLike] = (),
    ):
        if not 0 <= port <= 65535:
            raise UserError(f"port {port} is not a port number: expected 0 to 65535 (0 = any free port)")
        bundle_root = Path(bundle_dir).resolve()
        if not (bundle_root / "index.html").is_file() and not any(bundle_root.glob("*.html")):
            raise UserError(f"{bundle_dir} holds no web bundle (no .html files): build it with ./bazelw build //web:bundle")
        model_root = None
        if model_dir is not None:
            model_root = Path(model_dir).resolve()
            if not model_root.is_dir():
                raise UserError(f"model folder {model_dir} does not exist: build one with ./bazelw build //models:int4")
        roots = [bundle_root, *([model_root] if model_root else []), *extra_roots]
        attributes = {
            "bundle_root": bundle_root,
            "model_root": model_root,
            "real_roots": tuple(os.path.realpath(r) for r in roots),
            "quiet": quiet,
            "allow_hub": allow_hub,
        }
        handler = type("BoundHandler", (Handler,), attributes)
        try:
            self.httpd = LocalHTTPServer(("127.0.0.1", port), handler)
        except OSError as error:
            raise UserError(listen_error(port, error)) from None
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Server":
        # A short poll so that __exit__ returns quickly (tests start many servers).
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def port_number(text: str) -> int:
    """argparse type for --port: 0..65535, said so when not."""
    port = int(text) if re.fullmatch(r"\d{1,5}", text.strip()) else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0 = any free port), not {text!r}")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle-dir", "--bundle_dir", required=True, help="the built web bundle (//web:bundle)")
    parser.add_argument("--model-dir", "--model_dir", help="an artifact folder to serve under /models/")
    parser.add_argument("--port", type=port_number, default=8000, help="port on 127.0.0.1 (default 8000, 0 = any free port)")
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
