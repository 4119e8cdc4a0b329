"""web_bundle: the browser library and pages, bundled by web/build.mjs with esbuild."""

def _web_bundle_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    modules = ctx.files.node_modules
    marker = "/node_modules/"
    first = modules[0].path
    node_modules_dir = first[:first.index(marker) + len(marker) - 1]
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
        ],
        inputs = ctx.files.srcs + ctx.files.static + modules + [ctx.file.build_script],
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
        "node_modules": attr.label(mandatory = True),
        "node": attr.label(executable = True, cfg = "exec", allow_single_file = True, mandatory = True),
    },
)
