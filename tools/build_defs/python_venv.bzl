"""Repository rule: one Python virtual environment built from the pinned lock file.

It is registered as the Python toolchain, so every py_binary and py_test runs on it. Bazel re-runs
the rule only when the lock file (or this file) changes.
"""

def _run(rctx, args, what, timeout = 600, quiet = True):
    result = rctx.execute(args, timeout = timeout, quiet = quiet)
    if result.return_code != 0:
        fail("%s failed (exit %d):\n%s\n%s" % (what, result.return_code, result.stdout[-4000:], result.stderr[-4000:]))
    return result

def _python_venv_impl(rctx):
    lock = rctx.path(rctx.attr.lock)
    python = rctx.which("python3")
    if python == None:
        fail("python3 is not on PATH: install it (Debian: apt-get install python3 python3-venv) and rerun.")
    rctx.report_progress("creating the virtual environment")
    _run(rctx, [python, "-m", "venv", "venv"], "python3 -m venv (Debian: apt-get install python3-venv)")
    rctx.report_progress("pip install -r python/requirements.lock (once per lock file; torch is large)")
    _run(
        rctx,
        ["venv/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", str(lock)],
        "pip install -r python/requirements.lock",
        timeout = 3600,
        quiet = False,
    )
    interpreter = str(rctx.path("venv/bin/python3"))
    rctx.file("BUILD.bazel", """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

py_runtime(
    name = "runtime",
    interpreter_path = "{interpreter}",
    python_version = "PY3",
    stub_shebang = "#!{interpreter}",
)

py_runtime_pair(name = "runtime_pair", py3_runtime = ":runtime")

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(interpreter = interpreter))

python_venv = repository_rule(
    implementation = _python_venv_impl,
    attrs = {"lock": attr.label(allow_single_file = True, mandatory = True)},
    doc = "A virtual environment installed from a pinned requirements lock file, exposed as a Python toolchain.",
)
