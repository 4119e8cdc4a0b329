"""cli_output_dir: a folder made by one `vibevoice-asr-web` command (checkpoint, artifacts)."""

def _input_dir(target):
    """The folder a target stands for: its tree artifact, or the folder holding its config.json."""
    files = target.files.to_list()
    for f in files:
        if f.is_directory:
            return f.path
    for f in files:
        if f.basename == "config.json":
            return f.dirname
    fail("%s is neither a folder nor a checkpoint with a config.json" % target.label)

def _cli_output_dir_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    dirs = {name: _input_dir(target) for target, name in ctx.attr.input_dirs.items()}
    args = []
    for arg in ctx.attr.arguments:
        arg = ctx.expand_location(arg.replace("{out}", out.path), targets = ctx.attr.data)
        for name, path in dirs.items():
            arg = arg.replace("{%s}" % name, path)
        args.append(arg)
    inputs = depset(transitive = [t.files for t in ctx.attr.input_dirs.keys()] + [t.files for t in ctx.attr.data])
    ctx.actions.run(
        executable = ctx.executable._cli,
        arguments = [ctx.attr.command] + args,
        inputs = inputs,
        outputs = [out],
        mnemonic = "VibeVoiceAsrWeb",
        progress_message = "vibevoice-asr-web %s -> %s" % (ctx.attr.command, out.short_path),
        env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONHASHSEED": "0"},
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

cli_output_dir = rule(
    implementation = _cli_output_dir_impl,
    doc = "Runs `vibevoice-asr-web COMMAND ARGUMENTS` to make one output folder. In ARGUMENTS, {out} is that " +
          "folder and {NAME} the folder of the input_dirs entry named NAME.",
    attrs = {
        "command": attr.string(mandatory = True),
        "arguments": attr.string_list(doc = "command arguments; $(location X) works for X in data"),
        "input_dirs": attr.label_keyed_string_dict(doc = "input folder -> the NAME used in args"),
        "data": attr.label_list(allow_files = True, doc = "other files the command reads"),
        "_cli": attr.label(default = "//python:cli", executable = True, cfg = "exec"),
    },
)

def tiny_shape_artifacts(name, variant):
    """`NAME_checkpoint`, `NAME_fp32` and `NAME_q4` for the tiny configuration VARIANT (random weights).

    They exist to show the browser other shapes than the default's (widths, depths, heads, chunk
    length): the fp32 export is checked against PyTorch; q4 is not gated (random weights make near
    ties that int4 flips), the e2e tests compare it with onnxruntime's own q4.
    """
    cli_output_dir(
        name = name + "_checkpoint",
        arguments = ["--output-dir", "{out}", "--variant", variant],
        command = "make-tiny",
    )
    cli_output_dir(
        name = name + "_fp32",
        arguments = [
            "--checkpoint",
            "{checkpoint}",
            "--output-dir",
            "{out}",
            "--quiet",
            "--audio",
            "$(location //testdata:audio/hello.wav)",
        ],
        command = "export",
        data = ["//testdata:audio/hello.wav"],
        input_dirs = {":%s_checkpoint" % name: "checkpoint"},
    )
    cli_output_dir(
        name = name + "_q4",
        arguments = ["--input-dir", "{fp32}", "--output-dir", "{out}", "--dtype", "q4", "--no-validate", "--quiet"],
        command = "quantize",
        input_dirs = {":%s_fp32" % name: "fp32"},
    )
