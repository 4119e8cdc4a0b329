"""The local server under load and abuse, on loopback only: 200 clients at once are all answered,
a stalled client blocks nobody, and clients that hang up or send garbage leave no traceback."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vibevoice_asr_web
from vibevoice_asr_web.serve import Server

CLIENTS = 200
BLOB = hashlib.sha256(b"seed").digest() * 8192  # 256 KiB, not all one byte


@pytest.fixture
def roots(tmp_path):
    bundle, models = tmp_path / "bundle", tmp_path / "models"
    bundle.mkdir()
    models.mkdir()
    (bundle / "index.html").write_text("<!doctype html><title>demo</title>")
    (models / "blob.onnx_data").write_bytes(BLOB)
    with open(models / "big.onnx_data", "wb") as f:
        f.truncate(256 << 20)  # sparse: no disk used, but far more than socket buffers hold
    return bundle, models


def _fetch(address, path: str, barrier: threading.Barrier) -> tuple[int, bytes]:
    barrier.wait(timeout=30)
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_200_concurrent_clients_are_all_answered(roots):
    started = time.monotonic()
    with Server(*roots) as server:
        assert server.httpd.request_queue_size >= CLIENTS
        address = server.httpd.server_address[:2]
        barrier = threading.Barrier(CLIENTS)  # every client connects at the same moment
        with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            futures = [pool.submit(_fetch, address, "/models/blob.onnx_data", barrier) for _ in range(CLIENTS)]
            results = [f.result(timeout=60) for f in futures]
    assert [status for status, _ in results] == [200] * CLIENTS
    assert all(body == BLOB for _, body in results)
    assert time.monotonic() - started < 60


def test_a_stalled_client_does_not_block_the_others(roots):
    with Server(*roots) as server, socket.create_connection(server.httpd.server_address[:2], timeout=10) as stalled:
        stalled.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never finishes its headers
        connection = http.client.HTTPConnection(*server.httpd.server_address[:2], timeout=5)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200


def _hang_up_mid_transfer(address, reset: bool) -> None:
    with socket.create_connection(address, timeout=10) as client:
        client.sendall(b"GET /models/big.onnx_data HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert client.recv(65536).startswith(b"HTTP/1.0 200")
        if reset:  # RST instead of FIN: the server's next write fails with ConnectionResetError
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_clients_hanging_up_mid_transfer_are_silent(roots, capfd):
    with Server(*roots, quiet=False) as server:
        for reset in (False, True, False, True):
            _hang_up_mid_transfer(server.httpd.server_address[:2], reset)
        time.sleep(0.5)  # the handler threads notice the closed sockets
        assert _fetch(server.httpd.server_address[:2], "/", threading.Barrier(1))[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err


def _send_and_drain(address, request: bytes) -> None:
    """Sends `request`, then reads until the server closes; the server may close first (a 414 on a
    request it stopped reading), which is fine here."""
    with socket.create_connection(address, timeout=10) as client:
        try:
            client.sendall(request)
            client.shutdown(socket.SHUT_WR)
            while client.recv(65536):
                pass
        except OSError:  # reset, broken pipe, or not connected any more
            pass


def test_the_cli_server_survives_abuse_without_a_traceback(roots):
    """The real command, as a user runs it: garbage in, one log line per request out, then Ctrl+C."""
    bundle, models = roots
    package_parent = str(Path(vibevoice_asr_web.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_parent, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "vibevoice_asr_web", "serve", "--bundle-dir", str(bundle), "--model-dir", str(models), "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", process.stdout.readline()).group(1))
        address = ("127.0.0.1", port)
        for request in [b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                        b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", b"GET /models/blob.onnx_data HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=" + b"9" * 5000 + b"-\r\n\r\n",
                        b"GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", b""]:
            _send_and_drain(address, request)
        for reset in (False, True):
            _hang_up_mid_transfer(address, reset)
        assert _fetch(address, "/models/blob.onnx_data", threading.Barrier(1)) == (200, BLOB)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert all(len(line) < 500 for line in err.splitlines())
