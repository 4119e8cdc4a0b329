"""The local server: two roots only (real paths too), 127.0.0.1 only (Host too), no remote origin in
the CSP, COOP/COEP set, Range and revalidation, and one-line errors for bad ports."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import vibevoice_asr_web
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.serve import Server, parse_range


@pytest.fixture
def roots(tmp_path):
    bundle = tmp_path / "bundle"
    models = tmp_path / "models"
    bundle.mkdir()
    models.mkdir()
    (bundle / "index.html").write_text("<!doctype html><title>demo</title>")
    (bundle / "app.mjs").write_text("export {}")
    (models / "config.json").write_text("{}")
    (models / "onnx").mkdir()
    (models / "onnx" / "decoder_model_merged.onnx_data_1").write_bytes(b"\0" * 10)
    (tmp_path / "secret.txt").write_text("not for the browser")
    return bundle, models


def _get(server: Server, path: str, headers: dict | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def _raw(server: Server, request: bytes) -> bytes:
    """Sends bytes as they are and returns what comes back until the server closes."""
    received = b""
    with socket.create_connection(server.httpd.server_address[:2], timeout=10) as connection:
        try:  # the server may answer and close before a too-long request is all sent or read
            connection.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def test_serves_both_roots_with_isolation_headers_and_a_local_only_csp(roots):
    bundle, models = roots
    with Server(bundle, models) as server:
        assert server.httpd.server_address[0] == "127.0.0.1"
        status, headers, body = _get(server, "/")
        assert status == 200 and b"demo" in body
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "http" not in csp
        assert _get(server, "/app.mjs")[1]["Content-Type"] == "text/javascript"
        status, headers, body = _get(server, "/models/onnx/decoder_model_merged.onnx_data_1")
        assert status == 200 and headers["Content-Type"] == "application/octet-stream" and len(body) == 10
        assert _get(server, "/models/config.json")[0] == 200


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/models/../../secret.txt", "/%2e%2e/secret.txt", "/models/%2e%2e/%2e%2e/secret.txt",
     "/models/..%2f..%2fsecret.txt", "/nothing-here.js", "/models/missing.onnx"],
)
def test_refuses_anything_outside_its_roots(roots, path):
    bundle, models = roots
    with Server(bundle, models) as server:
        status, headers, body = _get(server, path)
        assert status == 404
        assert b"not for the browser" not in body
        assert "Content-Security-Policy" in headers  # errors carry the headers too


def test_hub_origins_only_when_asked(roots):
    bundle, models = roots
    with Server(bundle, models, allow_hub=True) as server:
        csp = _get(server, "/")[1]["Content-Security-Policy"]
        assert "https://huggingface.co" in csp and "connect-src 'self'" in csp
        assert "script-src 'self' 'wasm-unsafe-eval' blob:" in csp  # scripts still come from here only


def test_clear_errors_for_missing_folders(tmp_path):
    with pytest.raises(UserError, match="//web:bundle"):
        Server(tmp_path, None)
    (tmp_path / "index.html").write_text("x")
    with pytest.raises(UserError, match="does not exist"):
        Server(tmp_path, tmp_path / "nope")


# --- real paths: a symlink may not lead out of the roots ---------------------------------------


def test_symlinks_leading_outside_the_roots_are_refused(roots, tmp_path):
    bundle, models = roots
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "weights.onnx").write_text("not for the browser either")
    (models / "passwd").symlink_to(tmp_path / "secret.txt")
    (models / "onnx" / "leak.onnx").symlink_to("../../secret.txt")
    (models / "outside").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (bundle / "passwd.js").symlink_to("/etc/passwd")
    with Server(bundle, models) as server:
        for path in ["/models/passwd", "/models/onnx/leak.onnx", "/models/outside/weights.onnx", "/passwd.js"]:
            status, _, body = _get(server, path)
            assert status == 404, path
            assert b"not for the browser" not in body and b"root:" not in body


def test_symlinks_inside_the_roots_and_named_extra_roots_are_served(roots, tmp_path):
    bundle, models = roots
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "weights.onnx").write_text("linked weights")
    (models / "alias.json").symlink_to("config.json")
    (bundle / "config.json").symlink_to(models / "config.json")  # bundle -> model root: both roots
    (models / "fp32").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with Server(bundle, models) as server:
        assert _get(server, "/models/alias.json")[0] == 200
        assert _get(server, "/config.json")[0] == 200
        assert _get(server, "/models/fp32/weights.onnx")[0] == 404
    with Server(bundle, models, extra_roots=[tmp_path / "elsewhere"]) as server:
        status, _, body = _get(server, "/models/fp32/weights.onnx")
        assert status == 200 and body == b"linked weights"
        assert _get(server, "/models/../../secret.txt")[0] == 404


def test_a_name_too_long_for_the_file_system_is_a_404(roots):
    with Server(*roots) as server:
        assert _get(server, "/models/" + "a" * 5000)[0] == 404


# --- Host: DNS rebinding gets nothing ----------------------------------------------------------


def test_only_loopback_host_names_on_this_port_are_answered(roots):
    with Server(*roots) as server:
        port = server.httpd.server_address[1]
        for host in [f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}", "127.0.0.1", "localhost"]:
            status, _, body = _get(server, "/", {"Host": host})
            assert status == 200 and b"demo" in body, host
        for host in ["evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", f"localhost.evil.example:{port}",
                     f"127.0.0.1.evil.example:{port}", "[::2]", f"127.0.0.1:{port}:{port}", "", f"user@127.0.0.1:{port}"]:
            status, headers, body = _get(server, "/models/config.json", {"Host": host})
            assert status == 421, host
            assert b"demo" not in body and len(body) < 1000 and "Content-Security-Policy" in headers
        # No Host, or two of them: refused too.
        assert b" 421 " in _raw(server, b"GET / HTTP/1.0\r\n\r\n").split(b"\r\n")[0] + b" "
        two = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode()
        assert _raw(server, two).startswith(b"HTTP/1.0 421")


# --- Range, validators, 304 --------------------------------------------------------------------

DATA = bytes(range(256)) * 4  # 1024 bytes, each position distinct mod 256


@pytest.fixture
def data_server(roots):
    bundle, models = roots
    (models / "weights.onnx_data").write_bytes(DATA)
    with Server(bundle, models) as server:
        yield server, models / "weights.onnx_data"


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-5", 1019, 1023), ("bytes=5-5000", 5, 1023),
     ("bytes=-5000", 0, 1023), ("bytes=1023-1023", 1023, 1023)],
)
def test_single_ranges_give_206_with_the_exact_bytes(data_server, header, first, last):
    server, _ = data_server
    status, headers, body = _get(server, "/models/weights.onnx_data", {"Range": header})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {first}-{last}/1024"
    assert body == DATA[first:last + 1] and headers["Content-Length"] == str(last - first + 1)
    status, headers, body = _get(server, "/models/weights.onnx_data", {"Range": header}, method="HEAD")
    assert status == 206 and body == b"" and headers["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges_give_416(data_server, header):
    server, _ = data_server
    status, headers, body = _get(server, "/models/weights.onnx_data", {"Range": header})
    assert status == 416 and headers["Content-Range"] == "bytes */1024" and body == b""


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=-", "bytes=" + "9" * 5000])
def test_malformed_or_multiple_ranges_are_ignored(data_server, header):
    server, _ = data_server
    status, headers, body = _get(server, "/models/weights.onnx_data", {"Range": header})
    assert status == 200 and body == DATA and "Content-Range" not in headers


def test_parse_range_on_an_empty_file():
    assert parse_range("bytes=0-", 0) == range(0)
    assert parse_range("bytes=-3", 0) == range(0)


def test_validators_revalidate_with_304(data_server):
    server, path = data_server
    status, headers, body = _get(server, "/models/weights.onnx_data")
    assert status == 200 and headers["Accept-Ranges"] == "bytes" and headers["Cache-Control"] == "no-cache"
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"')
    for conditional in [{"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'}, {"If-None-Match": "*"},
                        {"If-Modified-Since": modified}]:
        for method in ("GET", "HEAD"):
            status, headers, body = _get(server, "/models/weights.onnx_data", conditional, method)
            assert status == 304 and body == b"", conditional
            assert headers["ETag"] == etag and "Content-Security-Policy" in headers
    for conditional in [{"If-None-Match": '"other"'}, {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
                        {"If-Modified-Since": "not a date"}, {"If-None-Match": '"other"', "If-Modified-Since": modified}]:
        assert _get(server, "/models/weights.onnx_data", conditional)[0] == 200, conditional
    # A rewritten file has a new ETag: the old one no longer matches.
    path.write_bytes(DATA[::-1])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    status, headers, body = _get(server, "/models/weights.onnx_data", {"If-None-Match": etag})
    assert status == 200 and body == DATA[::-1] and headers["ETag"] != etag


def test_if_range_sends_the_part_only_while_the_file_is_unchanged(data_server):
    server, _ = data_server
    headers = _get(server, "/models/weights.onnx_data", method="HEAD")[1]
    for validator in (headers["ETag"], headers["Last-Modified"]):
        status, _, body = _get(server, "/models/weights.onnx_data", {"Range": "bytes=0-3", "If-Range": validator})
        assert status == 206 and body == DATA[:4]
    for stale in ('"stale"', "W/" + headers["ETag"], "Thu, 01 Jan 1970 00:00:00 GMT"):
        status, _, body = _get(server, "/models/weights.onnx_data", {"Range": "bytes=0-3", "If-Range": stale})
        assert status == 200 and body == DATA


# --- malformed and over-long requests: a 4xx, never a traceback ---------------------------------


def test_over_long_and_malformed_requests_get_a_4xx_and_no_traceback(roots, capfd):
    with Server(*roots, quiet=False) as server:
        port = server.httpd.server_address[1]
        assert _raw(server, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startswith(b"HTTP/1.0 414")
        assert _get(server, "/" + "a" * 20_000)[0] == 414
        for request in [b"\x00\xff\xfe garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET\r\n\r\n",
                        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
                        b"GET / HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
                        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"]:
            response = _raw(server, request)  # (HTTP/0.9-looking lines get an answer without a status line)
            assert re.search(rb"^HTTP/1\.[01] (4\d\d|50[15]) |Error code: (4\d\d|50[15])", response), request[:40]
        assert _get(server, "/%ff%fe%00", {"Host": f"127.0.0.1:{port}"})[0] == 404
        assert _get(server, "/", {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT", "Range": "bytes=x"})[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception" not in err
    assert all(len(line) < 500 for line in err.splitlines())  # a 20 kB path is not echoed whole


# --- the CLI: ports ----------------------------------------------------------------------------


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    package_parent = str(Path(vibevoice_asr_web.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_parent, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "vibevoice_asr_web", *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_busy_port_is_one_clear_line(roots):
    bundle, models = roots
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = _cli("serve", "--bundle-dir", str(bundle), "--model-dir", str(models), "--port", str(port))
        with pytest.raises(UserError, match=f"port {port} is in use: pass --port N"):
            Server(bundle, models, port=port)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"vibevoice-asr-web serve: error: port {port} is in use: pass --port N or stop the other server"]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("port", ["-1", "65536", "70000", "eighty", "1e3"])
def test_a_bad_port_is_refused_with_what_is_expected(roots, port):
    bundle, _ = roots
    result = _cli("serve", "--bundle-dir", str(bundle), "--port", port)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"argument --port: expected a port number from 0 to 65535 (0 = any free port), not '{port}'" in result.stderr
    if port.lstrip("-").isdigit():  # and Server itself, called from Python
        with pytest.raises(UserError, match="expected 0 to 65535"):
            Server(bundle, port=int(port))
