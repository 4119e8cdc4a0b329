"""`./bazelw run //web:serve -- [--model-dir DIR] [--port N]`: the demo bundle plus an artifact folder."""

import os
import sys

from vibevoice_asr_web import cli, runfiles


def main() -> int:
    args = sys.argv[1:]
    if not any(a.split("=")[0] in ("--bundle-dir", "--bundle_dir") for a in args):
        args += ["--bundle-dir", str(runfiles.locate("web/bundle"))]
    # `bazel run` starts in the runfiles tree; relative paths the user typed mean their own directory.
    workdir = os.environ.get("BUILD_WORKING_DIRECTORY")
    if workdir:
        os.chdir(workdir)
    return cli.main(["serve", *args])


if __name__ == "__main__":
    sys.exit(main())
