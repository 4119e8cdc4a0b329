"""`./bazelw run //web:serve -- [--model-dir DIR] [--port N] [--allow-hub]`: the demo bundle plus an
artifact folder (//models:int4 unless another is named)."""

import os
import sys

from vibevoice_asr_web import cli, runfiles


def main() -> int:
    args = sys.argv[1:]
    if not any(a.split("=")[0] in ("--bundle-dir", "--bundle_dir") for a in args):
        args += ["--bundle-dir", str(runfiles.locate("web/bundle"))]
    if not any(a.split("=")[0] in ("--model-dir", "--model_dir") for a in args):
        args += ["--model-dir", str(runfiles.locate("models/int4"))]  # the default artifacts
    # `bazel run` starts in the runfiles tree; relative paths the user typed mean their own directory.
    workdir = os.environ.get("BUILD_WORKING_DIRECTORY")
    if workdir:
        os.chdir(workdir)
    return cli.main(["serve", *args])


if __name__ == "__main__":
    sys.exit(main())
