"""Repository rule: which checkpoint //models:* converts, chosen outside the build graph.

VIBEVOICE_CHECKPOINT unset or empty: the embedded tiny checkpoint (//models:tiny_checkpoint).
A folder (absolute, or relative to the workspace): that folder.
A Hub repo id (OWNER/NAME, revision from VIBEVOICE_CHECKPOINT_REVISION): downloaded here with
huggingface_hub, which fails fast without a network and names the local-folder alternative.
"""

_ENV = ["VIBEVOICE_CHECKPOINT", "VIBEVOICE_CHECKPOINT_REVISION"]

def _files_build(kind, name, revision):
    return """\
package(default_visibility = ["//visibility:public"])

filegroup(
    name = "checkpoint",
    srcs = glob(["checkpoint/**"], exclude = ["checkpoint/.cache/**"]),
)

# {kind}: {name} @ {revision}
""".format(kind = kind, name = name, revision = revision)

def _checkpoint_impl(rctx):
    spec = rctx.os.environ.get("VIBEVOICE_CHECKPOINT", "").strip()
    revision = rctx.os.environ.get("VIBEVOICE_CHECKPOINT_REVISION", "").strip()
    if not spec:
        rctx.file("BUILD.bazel", """\
package(default_visibility = ["//visibility:public"])

alias(name = "checkpoint", actual = "@//models:tiny_checkpoint")
""")
        return
    workspace = rctx.path(Label("//:WORKSPACE")).dirname
    local = rctx.path(spec if spec.startswith("/") else "%s/%s" % (workspace, spec))
    if local.exists:
        if not local.get_child("config.json").exists:
            fail("VIBEVOICE_CHECKPOINT=%s holds no config.json: point it at a VibeVoice-ASR checkpoint folder" % spec)
        rctx.symlink(local, "checkpoint")
        rctx.file("BUILD.bazel", _files_build("local folder", spec, "as found"))
        return
    python = rctx.path(Label("@py_venv//:BUILD.bazel")).dirname.get_child("venv").get_child("bin").get_child("python3")
    package_dir = rctx.path(Label("//python:pyproject.toml")).dirname
    script = "\n".join([
        "import sys",
        "from vibevoice_asr_web.checkpoint_source import resolve",
        "from vibevoice_asr_web.errors import UserError",
        "try:",
        "    source = resolve(sys.argv[1], sys.argv[2] or None)",
        "except UserError as error:",
        "    sys.exit(str(error))",
        "print(source.path)",
        "print(source.revision)",
    ])
    rctx.report_progress("downloading %s from the Hugging Face Hub" % spec)
    result = rctx.execute(
        [python, "-c", script, spec, revision],
        environment = {"PYTHONPATH": str(package_dir)},
        timeout = 7200,
        quiet = False,
    )
    if result.return_code != 0:
        fail("VIBEVOICE_CHECKPOINT=%s: %s" % (spec, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "download failed"))
    path, resolved_revision = result.stdout.strip().splitlines()[-2:]
    rctx.symlink(path, "checkpoint")
    rctx.file("BUILD.bazel", _files_build("Hub", spec, resolved_revision))

checkpoint_repository = repository_rule(
    implementation = _checkpoint_impl,
    environ = _ENV,
    doc = "The checkpoint //models:* converts: the embedded tiny one, a local folder, or a Hub repo id.",
)
