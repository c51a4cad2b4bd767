"""The Python package builds from the same crate versions as the command line: python/ is a
workspace of its own with its own Cargo.lock, which must name every crate the library needs
(a --locked build fails, and every build rewrites a tracked file, otherwise: .ci/run checks
that with `cargo metadata --locked`) at the root lock's versions (otherwise the fast
install, which shares target/, rebuilds them)."""

import re

from conftest import ROOT


def packages(lock):
    """(name, version) of every package a lock holds (a crate may be there in two versions)."""
    text = (ROOT / lock).read_text()
    return set(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text))


def test_the_python_lock_holds_the_roots_versions():
    root, python = packages("Cargo.lock"), packages("python/Cargo.lock")
    names = {name for name, _ in python}
    assert {"molly", "md5", "trajwalk", "pyo3", "numpy"} <= names
    # Every crate both use is at a version the root lock has.
    in_root = {name for name, _ in root}
    assert {(n, v) for n, v in python if n in in_root} - root == set()
