"""Repository rule: Mesa's lavapipe, as tools/lavapipe/setup.sh unpacks it (see that script)."""

def _lavapipe_impl(rctx):
    script = rctx.path(rctx.attr.setup)
    # setup.sh keeps one copy in the user's cache (./bazelw fills it first, so this is a no-op then);
    # the repository holds its own copy so that a cleaned cache does not break built tests.
    result = rctx.execute(["bash", str(script), "--print-env"], timeout = 900, quiet = False)
    if result.return_code != 0:
        fail("tools/lavapipe/setup.sh failed (exit %d); run it by hand to see why:\n%s" % (result.return_code, result.stderr[-4000:]))
    env = dict([line.split("=", 1) for line in result.stdout.strip().split("\n") if "=" in line])
    cached = env["VK_ICD_FILENAMES"].rsplit("/icd.d/", 1)[0]
    copy = rctx.execute(["cp", "-a", cached + "/.", str(rctx.path("lavapipe"))])
    if copy.return_code != 0:
        fail("could not copy %s: %s" % (cached, copy.stderr))
    rctx.file("BUILD.bazel", """\
package(default_visibility = ["//visibility:public"])

# The ICD json (icd.d/lvp.json, library path relative to it), lib/ and versions.txt.
filegroup(
    name = "lavapipe",
    srcs = glob(["lavapipe/**"]),
)
""")

lavapipe_repository = repository_rule(
    implementation = _lavapipe_impl,
    attrs = {
        "setup": attr.label(default = "//tools/lavapipe:setup.sh", allow_single_file = True),
    },
    environ = ["VIBEVOICE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"],
    local = False,
    doc = "lavapipe (libvulkan_lvp.so, its libdrm, the Vulkan loader) with a relocatable ICD json.",
)
