"""Shared helpers of the Python tests: the command-line binary, the shared data, and small
trajectories written with MDAnalysis's writers."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli():
    """The trajwalk binary tools/test built (TRAJWALK_BIN), else the default release build."""
    path = Path(os.environ.get("TRAJWALK_BIN", ROOT / "target" / "release" / "trajwalk"))
    if not path.exists():
        pytest.fail(f"the trajwalk binary {path} is missing: build it (cargo build --release) or set TRAJWALK_BIN")
    return path


def cli_json(*args):
    out = subprocess.run([str(cli()), "run", *map(str, args), "--format", "json", "--quiet"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def shared_data(name):
    """A file of ../shared/data: skipped with the reason when absent, a failure when
    TRAJWALK_REQUIRE_SHARED=1 (as the Rust tests do)."""
    path = ROOT.parent / "shared" / "data" / name
    if not path.exists():
        if os.environ.get("TRAJWALK_REQUIRE_SHARED") == "1":
            pytest.fail(f"{path} is missing and TRAJWALK_REQUIRE_SHARED=1")
        pytest.skip(f"{path} is absent")
    return path


def z_ok(value, std, ref, z=4.0):
    """|value - ref| within z standard deviations, or within 1e-5 relative where the std is 0
    (a sphere's walks all hit at once)."""
    value, std = np.asarray(value, float), np.asarray(std, float)
    return bool(np.all(np.abs(value - ref) <= z * std + 1e-5 * np.abs(ref)))


ELEMENTS = ["C", "N", "C", "O", "C", "S", "C", "N"]


def coordinates(frames=6, seed=1):
    """A chain of 8 atoms 1.5 A apart that wiggles from frame to frame, in float32 multiples
    of 1/64 A, which XTC (0.01 A) cannot keep exactly but DCD can."""
    rng = np.random.default_rng(seed)
    base = np.array([[1.5 * i, 0.3 * (i % 2), 0.0] for i in range(len(ELEMENTS))])
    out = base + rng.normal(scale=0.4, size=(frames, len(ELEMENTS), 3))
    return (np.round(out * 64) / 64).astype(np.float32)


def universe(positions, elements=ELEMENTS):
    """An MDAnalysis Universe of `positions` (frames x atoms x 3) in memory, with names,
    types, elements and residues."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    n = positions.shape[1]
    u = mda.Universe.empty(n, n_residues=2, atom_resindex=[0] * (n // 2) + [1] * (n - n // 2), trajectory=True)
    u.add_TopologyAttr("names", elements[:n])
    u.add_TopologyAttr("types", elements[:n])
    u.add_TopologyAttr("elements", elements[:n])
    u.add_TopologyAttr("resnames", ["ALA", "GLY"])
    u.add_TopologyAttr("resids", [1, 2])
    u.load_new(positions, format=MemoryReader)
    return u


def write(d, u):
    """`u` written by MDAnalysis's writers into `d`: topology.pdb, trajectory.xtc and .dcd."""
    import MDAnalysis as mda

    u.atoms.write(d / "topology.pdb")
    for ext in ("xtc", "dcd"):
        with mda.Writer(str(d / f"trajectory.{ext}"), n_atoms=len(u.atoms)) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    return d


@pytest.fixture(scope="session")
def written(tmp_path_factory):
    """The test frames written by MDAnalysis's writers: a PDB topology, an XTC and a DCD."""
    return write(tmp_path_factory.mktemp("frames"), universe(coordinates()))


def write_h5md(path, positions, times=None):
    """A minimal H5MD file of float32 positions in Angstrom, as the command line reads it."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
        pos = f.create_group("particles/all/position")
        value = pos.create_dataset("value", data=np.asarray(positions, dtype=np.float32))
        value.attrs["unit"] = "Angstrom"
        pos.create_dataset("step", data=np.arange(len(positions)))
        if times is not None:
            t = pos.create_dataset("time", data=np.asarray(times, dtype=float))
            t.attrs["unit"] = "ps"
    return path
