"""The Python module's overhead: trajwalk.mda.TrajWalk with its trajwalk backend against the
command line on the same frames, and against MDAnalysis's multiprocessing backend with 2
workers; wall time and peak memory (resident set) of each, runs interleaved round by round
so that a loaded machine slows all alike.

    .venv/bin/python benches/python_overhead.py [--rounds 3] [--walks 20000]

Needs the package installed in .venv (tools/test does it) and the release binary
(TRAJWALK_BIN, default target/release/trajwalk). The frames are examples/peptide.h5md's 48
frames of 250 atoms, written to a DCD by MDAnalysis for the Python runs (float32 either way,
so all three compute the same bits)."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PYTHON_RUN = """
import sys, time, MDAnalysis as mda
from trajwalk.mda import TrajWalk
t = time.perf_counter()
u = mda.Universe(sys.argv[1], sys.argv[2])
backend = sys.argv[4]
kw = dict(backend="multiprocessing", n_workers=2) if backend == "multiprocessing" else {}
r = TrajWalk(u.atoms, 1.9, n_walks=int(sys.argv[3]), n_interior_samples=int(sys.argv[3])).run(**kw).results
assert len(r.hydrodynamic_radius.value) == len(u.trajectory)
print(time.perf_counter() - t)
"""


def frames(d):
    import h5py
    import MDAnalysis as mda
    import numpy as np
    from MDAnalysis.coordinates.memory import MemoryReader

    with h5py.File(ROOT / "examples" / "peptide.h5md") as f:
        xyz = np.asarray(f["particles/all/position/value"], dtype=np.float32)
    u = mda.Universe.empty(xyz.shape[1], trajectory=True)
    u.add_TopologyAttr("names", ["C"] * xyz.shape[1])
    u.load_new(xyz, format=MemoryReader)
    u.atoms.write(d / "peptide.pdb")
    with mda.Writer(str(d / "peptide.dcd"), n_atoms=xyz.shape[1]) as w:
        for _ in u.trajectory:
            w.write(u.atoms)
    return d / "peptide.pdb", d / "peptide.dcd"


def peak(cmd):
    """The largest resident set of `cmd` and its worker processes together, polled from /proc
    every 50 ms (getrusage reports only the largest single process)."""
    # A file, not a pipe: the command line's JSON report would fill a pipe read only at the end.
    out = tempfile.TemporaryFile("w+")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, text=True)
    worst_total = 0
    while p.poll() is None:
        total = 0
        for pid in [p.pid] + children(p.pid):
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        worst_total = max(worst_total, total)
        time.sleep(0.05)
    out.seek(0)
    text = out.read().strip()
    return worst_total, float(text) if text and not text.startswith("{") else None


def children(pid):
    out = []
    try:
        for c in open(f"/proc/{pid}/task/{pid}/children").read().split():
            out += [int(c)] + children(int(c))
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--walks", type=int, default=20000)
    a = ap.parse_args()
    binary = os.environ.get("TRAJWALK_BIN", str(ROOT / "target" / "release" / "trajwalk"))
    with tempfile.TemporaryDirectory() as tmp:
        pdb, dcd = frames(Path(tmp))
        w = str(a.walks)
        cases = {
            "cli": [binary, "run", str(ROOT / "examples" / "peptide.h5md"), "--radius", "1.9", "--walks", w, "--interior", w, "--format", "json", "--quiet"],
            "trajwalk backend": [sys.executable, "-c", PYTHON_RUN, str(pdb), str(dcd), w, "trajwalk"],
            "multiprocessing x2": [sys.executable, "-c", PYTHON_RUN, str(pdb), str(dcd), w, "multiprocessing"],
        }
        walls = {k: [] for k in cases}
        inside = {k: [] for k in cases}
        memory = {k: 0 for k in cases}
        for _ in range(a.rounds):
            for name, cmd in cases.items():
                t = time.perf_counter()
                rss, seconds = peak(cmd)
                memory[name] = max(memory[name], rss)
                walls[name].append(time.perf_counter() - t)
                if seconds is not None:
                    inside[name].append(seconds)
        cli = statistics.median(walls["cli"])
        print(f"48 frames x 250 atoms, {a.walks} walks and interior samples, {a.rounds} interleaved rounds, median wall")
        for name in cases:
            m = statistics.median(walls[name])
            run = f", Universe and run() alone {statistics.median(inside[name]):6.2f} s ({statistics.median(inside[name]) / cli:5.3f} x)" if inside[name] else ""
            print(f"  {name:<20} process {m:7.2f} s ({m / cli:5.3f} x the CLI){run}; peak resident {memory[name] / 1e6:7.1f} MB (all processes)")


if __name__ == "__main__":
    main()
