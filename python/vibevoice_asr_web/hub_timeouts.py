"""Time limits for every Hugging Face Hub request: `export --checkpoint OWNER/NAME` and `publish`.

huggingface_hub's shared httpx2 client is made with `timeout=None`, and many HfApi calls
(create_repo, repo_info, create_commit, ...) pass no timeout of their own, so a Hub (or proxy) that
accepts the connection and never answers would hang the command forever. `install()` gives every
request the library makes a connect, read, write and pool timeout of VIBEVOICE_HUB_TIMEOUT seconds
(default 20), by a request hook on the client, re-added whenever the library makes a new client.
A request that runs out raises httpx2.TimeoutException; `timed_out()` finds it behind the library's
own errors, and `advice()` is the sentence that says how to wait longer.
"""

from __future__ import annotations

import os

from vibevoice_asr_web.errors import UserError

ENV = "VIBEVOICE_HUB_TIMEOUT"
DEFAULT_SECONDS = 20.0


def seconds() -> float:
    """The limit: VIBEVOICE_HUB_TIMEOUT, else the default."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise UserError(f"{ENV}={text!r}: expected the Hub requests' timeout in seconds, a positive number such as {DEFAULT_SECONDS:g}")
    return value


def install(limit: float | None = None) -> float:
    """Makes huggingface_hub's HTTP client time out after `limit` seconds (default: seconds()); returns it."""
    import httpx2
    from huggingface_hub.utils import _http

    limit = seconds() if limit is None else limit
    timeout = httpx2.Timeout(limit).as_dict()

    def hook(request) -> None:
        # Replaces even a None the caller passed explicitly (HfApi passes timeout=None in places).
        request.extensions["timeout"] = timeout

    # Wrap whatever factory is in use (a test's fake Hub, a user's proxy setup), but only once.
    current = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)
    inner = getattr(current, "vibevoice_inner", current)

    def factory():
        client = inner()
        client.timeout = httpx2.Timeout(limit)
        client.event_hooks = {**client.event_hooks, "request": [*client.event_hooks["request"], hook]}
        return client

    factory.vibevoice_inner = inner
    _http.set_client_factory(factory)  # also closes the current client, so the next request gets the limit
    return limit


def timed_out(error: BaseException) -> BaseException | None:
    """The timeout behind `error` (huggingface_hub re-raises it as e.g. LocalEntryNotFoundError), if any."""
    import httpx2

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, httpx2.TimeoutException) or type(error).__name__ in ("ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"):
            return error
        error = error.__cause__ or error.__context__
    return None


def advice(timeout: BaseException, limit: float) -> str:
    from huggingface_hub import constants

    kind = type(timeout).__name__
    return (
        f"the Hub ({constants.ENDPOINT}) did not answer within {limit:g} s ({kind}); check the network, "
        f"or set {ENV}=SECONDS to wait longer (default {DEFAULT_SECONDS:g})"
    )
