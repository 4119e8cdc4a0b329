"""py_pytest: a py_test that runs pytest on its test files."""

def py_pytest(name, srcs, deps = [], data = [], args = [], **kwargs):
    """A py_test running pytest over `srcs`.

    Args:
      name: test name.
      srcs: the test files (test_*.py), plus helpers they import.
      deps: py_library dependencies.
      data: runtime files.
      args: extra pytest arguments.
      **kwargs: passed to py_test (size, tags, timeout, env, ...).
    """
    native.py_test(
        name = name,
        srcs = srcs + ["//tools/build_defs:pytest_runner.py"],
        main = "//tools/build_defs:pytest_runner.py",
        deps = deps,
        data = data,
        args = args + ["$(location %s)" % s for s in srcs if s.split("/")[-1].startswith("test_")],
        python_version = "PY3",
        # No generated __init__.py: test folders stay plain folders, so their helpers import by name.
        legacy_create_init = False,
        **kwargs
    )
