"""web_bundle and web_node_test: the browser library and pages, and their Node tests."""

def _node_modules_dir(path):
    """The node_modules folder that `path` (a file inside it) lies in."""
    marker = "/node_modules/"
    return path[:path.index(marker) + len(marker) - 1]

def _web_bundle_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    node_modules_dir = _node_modules_dir(ctx.files.node_modules[0].path)
    src_dir = ctx.file.build_script.dirname + "/src"
    static_dir = ctx.file.build_script.dirname + "/static"
    ctx.actions.run(
        executable = ctx.executable.node,
        arguments = [
            ctx.file.build_script.path,
            "--node-modules",
            node_modules_dir,
            "--src",
            src_dir,
            "--static",
            static_dir,
            "--out",
            out.path,
            "--artifact-description",
            ctx.file.artifact_description.path,
        ],
        inputs = ctx.files.srcs + ctx.files.static + ctx.files.node_modules + ctx.files.helpers + [ctx.file.build_script, ctx.file.artifact_description],
        outputs = [out],
        mnemonic = "WebBundle",
        progress_message = "Bundling the web library and pages with esbuild",
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

web_bundle = rule(
    implementation = _web_bundle_impl,
    doc = "A folder with the bundled pages, their static files and onnxruntime-web's wasm files.",
    attrs = {
        "srcs": attr.label_list(allow_files = [".ts"], doc = "TypeScript sources under src/"),
        "static": attr.label_list(allow_files = True, doc = "HTML and CSS under static/"),
        "build_script": attr.label(allow_single_file = True, mandatory = True),
        "helpers": attr.label_list(allow_files = [".mjs"], doc = "modules build_script imports"),
        "artifact_description": attr.label(allow_single_file = [".json"], mandatory = True, doc = "//web:artifact_description"),
        "node_modules": attr.label(mandatory = True),
        "node": attr.label(executable = True, cfg = "exec", allow_single_file = True, mandatory = True),
    },
)

def _web_node_test_impl(ctx):
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    # The test starts in the main workspace's runfiles folder; short paths are relative to it.
    args = [
        ctx.file.script.short_path,
        "--node-modules",
        _node_modules_dir(ctx.files.node_modules[0].short_path),
        "--web-dir",
        ctx.label.package,
        "--repo-root",
        ".",
        "--artifact-description",
        ctx.file.artifact_description.short_path,
    ] + ctx.attr.extra_args
    ctx.actions.write(
        launcher,
        content = "#!/usr/bin/env bash\nset -euo pipefail\nexec {node} {args} \"$@\"\n".format(
            node = ctx.file.node.short_path,
            args = " ".join(["'%s'" % a for a in args]),
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = ctx.files.srcs + ctx.files.data + ctx.files.node_modules + [ctx.file.script, ctx.file.node, ctx.file.artifact_description])
    return [DefaultInfo(executable = launcher, runfiles = runfiles)]

web_node_test = rule(
    implementation = _web_node_test_impl,
    test = True,
    doc = "Runs `script` (web/test/run_tests.mjs) with the host Node.js against this package's sources and node_modules.",
    attrs = {
        "script": attr.label(allow_single_file = [".mjs"], mandatory = True, doc = "the test runner"),
        "srcs": attr.label_list(allow_files = True, doc = "sources and test files the runner reads"),
        "data": attr.label_list(allow_files = True, doc = "fixtures and test audio"),
        "extra_args": attr.string_list(doc = "extra runner arguments, e.g. --typecheck"),
        "artifact_description": attr.label(allow_single_file = [".json"], mandatory = True, doc = "//web:artifact_description"),
        "node_modules": attr.label(mandatory = True),
        "node": attr.label(allow_single_file = True, mandatory = True),
    },
)
