"""Repository rule: `npm ci` of a package-lock.json (web/'s, e2e/dawn/'s) with install scripts off.

Install scripts are off because onnxruntime-node's script downloads from a host we cannot reach;
the browser only needs onnxruntime-web's files, which are in the package itself.
"""

def _npm_ci_impl(rctx):
    node = rctx.which("node")
    npm = rctx.which("npm")
    if node == None or npm == None:
        fail("node and npm must be on PATH (Debian: apt-get install nodejs npm).")
    rctx.symlink(rctx.attr.package_json, "package.json")
    rctx.symlink(rctx.attr.package_lock, "package-lock.json")
    rctx.report_progress("npm ci --ignore-scripts")
    result = rctx.execute(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        timeout = 1800,
        quiet = False,
        environment = {"npm_config_update_notifier": "false"},
    )
    if result.return_code != 0:
        fail("npm ci failed (exit %d):\n%s\n%s" % (result.return_code, result.stdout[-4000:], result.stderr[-4000:]))
    rctx.symlink(node, "bin/node")
    exclude = "".join(['            "node_modules/%s",\n' % pattern for pattern in rctx.attr.exclude])
    rctx.file("BUILD.bazel", """\
package(default_visibility = ["//visibility:public"])

# The host's Node.js, found when the repository was set up.
exports_files(["bin/node"])

# Everything the bundles and the Node tests read, less what the tests never load (`exclude`).
filegroup(
    name = "node_modules",
    srcs = glob(
        ["node_modules/**"],
        exclude = [
%s            "node_modules/**/*.map",
            "node_modules/**/* *",
        ],
    ),
)
""" % exclude)

npm_ci = repository_rule(
    implementation = _npm_ci_impl,
    attrs = {
        "package_json": attr.label(allow_single_file = True, mandatory = True),
        "package_lock": attr.label(allow_single_file = True, mandatory = True),
        "exclude": attr.string_list(
            # web/'s default: the native Node packages, which the browser bundle never loads.
            default = ["onnxruntime-node/**", "sharp/**", "@img/**"],
            doc = "globs under node_modules/ left out of :node_modules",
        ),
    },
    doc = "node_modules installed by `npm ci --ignore-scripts` from a package-lock.json.",
)
