"""MDAnalysis's reading of a trajectory with a selection, for benches/read.rs to set beside
trajwalk's readers in the same run: opens the Universe (topology and trajectory), selects
the atoms, then copies the selection's positions out of every frame, as trajwalk's stream
does. Prints one line of JSON: the frames, the seconds to open (Universe and selection)
and the seconds to read them.

    .venv/bin/python benches/read_mda.py TOPOLOGY TRAJECTORY SELECTION

benches/read.rs runs it once per round, interleaved with its own rows, when .venv exists."""

import json
import sys
import time


def main(topology, trajectory, selection):
    import MDAnalysis as mda
    import numpy as np

    t0 = time.perf_counter()
    u = mda.Universe(topology, trajectory)
    atoms = u.select_atoms(selection)
    opened = time.perf_counter() - t0
    t1 = time.perf_counter()
    frames = 0
    for _ in u.trajectory:
        positions = np.array(atoms.positions, dtype=np.float64)
        assert positions.shape == (len(atoms), 3)
        frames += 1
    read = time.perf_counter() - t1
    print(json.dumps({"frames": frames, "atoms": len(atoms), "open_s": opened, "read_s": read}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
