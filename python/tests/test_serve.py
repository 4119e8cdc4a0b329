"""The local server: two roots only, 127.0.0.1 only, no remote origin in the CSP, COOP/COEP set."""

from __future__ import annotations

import http.client

import pytest

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.serve import Server


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


def _get(server: Server, path: str) -> tuple[int, dict, bytes]:
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


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
