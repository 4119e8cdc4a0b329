"""Hub calls cannot hang: against a server that accepts connections and never answers, `export
--checkpoint OWNER/NAME`, `publish` and the upload itself fail within VIBEVOICE_HUB_TIMEOUT
seconds, with one line that names the limit and how to change it (and never the token)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from vibevoice_asr_web import hub_timeouts

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.errors import UserError

LIMIT = 2  # seconds, per request
BOUND = 20  # seconds a whole command may take against the silent Hub (interpreter start included)
TOKEN = "hf_FAKEtokenThatMustNeverBePrinted0123456789"


@pytest.fixture
def silent_hub():
    """http://127.0.0.1:PORT: accepts every connection, reads nothing, answers nothing."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def restore_client():
    """hub_timeouts.install() replaces huggingface_hub's client factory for the process: put the default back."""
    yield
    from huggingface_hub.utils import _http

    _http.set_client_factory(_http.default_client_factory)


def run_cli(args: list[str], endpoint: str, tmp_path) -> tuple[subprocess.CompletedProcess, float]:
    # conftest sets HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 (which huggingface_hub also obeys)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT")}
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_TOKEN=TOKEN, VIBEVOICE_HUB_TIMEOUT=str(LIMIT),
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vibevoice_asr_web", *args], env=env, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - start


def assert_one_line_timeout_error(done: subprocess.CompletedProcess, elapsed: float, command: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert elapsed < BOUND, f"took {elapsed:.1f} s:\n{output}"
    errors = [line for line in done.stderr.splitlines() if line.startswith(f"vibevoice-asr-web {command}: error:")]
    assert len(errors) == 1, output
    assert f"did not answer within {LIMIT} s" in errors[0] and "VIBEVOICE_HUB_TIMEOUT=SECONDS" in errors[0], errors[0]
    assert "Traceback" not in output and TOKEN not in output


def test_export_of_a_hub_checkpoint_fails_within_the_timeout(silent_hub, tmp_path):
    done, elapsed = run_cli(["export", "--checkpoint", "someone/not-cached", "--output-dir", str(tmp_path / "out")], silent_hub, tmp_path)
    assert_one_line_timeout_error(done, elapsed, "export")
    assert "could not download someone/not-cached" in done.stderr and not (tmp_path / "out").exists()


def test_publish_of_a_hub_checkpoint_fails_within_the_timeout(silent_hub, tmp_path):
    done, elapsed = run_cli(
        ["publish", "--repo-id", "someone/vibevoice-tiny", "--checkpoint", "someone/not-cached", "--work-dir", str(tmp_path / "work"),
         "--dtypes", "fp32", "--no-browser"],
        silent_hub, tmp_path,
    )
    assert_one_line_timeout_error(done, elapsed, "publish")


def test_the_upload_fails_within_the_timeout(silent_hub, tmp_path, monkeypatch, restore_client):
    from huggingface_hub import constants

    from vibevoice_asr_web.progress import Progress
    from vibevoice_asr_web.release import hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", silent_hub)  # HF_ENDPOINT is read once, at import
    monkeypatch.setenv("VIBEVOICE_HUB_TIMEOUT", str(LIMIT))
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    manifest.write(folder)
    start = time.monotonic()
    with pytest.raises(UserError) as raised:
        hub.publish(folder, "someone/vibevoice-tiny", TOKEN, "m", "d", Progress(quiet=True))
    elapsed = time.monotonic() - start
    message = str(raised.value)
    assert elapsed < BOUND, elapsed
    assert f"did not answer within {LIMIT} s" in message and "VIBEVOICE_HUB_TIMEOUT" in message and "\n" not in message, message
    assert TOKEN not in message and raised.value.__context__ is None


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf", "nan"])
def test_a_bad_timeout_setting_is_refused(monkeypatch, value):
    monkeypatch.setenv(hub_timeouts.ENV, value)
    with pytest.raises(UserError, match=hub_timeouts.ENV):
        hub_timeouts.seconds()


def test_the_default_timeout_is_under_30_seconds(monkeypatch):
    monkeypatch.delenv(hub_timeouts.ENV, raising=False)
    assert 0 < hub_timeouts.seconds() < 30
    monkeypatch.setenv(hub_timeouts.ENV, "7.5")
    assert hub_timeouts.seconds() == 7.5


def test_installing_twice_wraps_the_client_once(restore_client):
    from huggingface_hub.utils import _http

    hub_timeouts.install(3)
    hub_timeouts.install(4)
    client = _http.get_session()
    assert client.timeout.read == 4 and client.timeout.connect == 4
    hooks = [h for h in client.event_hooks["request"] if h.__qualname__.startswith("install.")]
    assert len(hooks) == 1
