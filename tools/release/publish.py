"""`bazel run //tools/release:publish -- --repo-id OWNER/NAME [...]`: the release pipeline.

The logic lives in the package (vibevoice_asr_web.release); `vibevoice-asr-web publish` is the same
command outside Bazel. Relative paths are taken from where `bazel run` was started.
"""

import sys

from vibevoice_asr_web.release.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
