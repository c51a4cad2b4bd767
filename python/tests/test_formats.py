"""trajwalk.run on the MD formats read through chemfiles, as the command line reads them: a
real GROMACS XTC with its GRO topology and a protein selection, several files as one
trajectory, and MDAnalysis's writers' XTC and TRR of the same frames; each gives
exactly the command line's bits."""

import numpy as np
import pytest
import trajwalk
from conftest import cli_json, shared_data

OPTIONS = dict(n_walks=2000, n_interior_samples=2000, seed=6)
CLI = ["--walks", 2000, "--interior", 2000, "--seed", 6]


def same(array, json_value):
    """Equal bits, where JSON writes a value that is not finite (a diverging intrinsic
    conductivity) as null."""
    a = np.asarray(array, float).ravel()
    b = np.array([np.nan if x is None else x for x in np.ravel(json_value).tolist()], float)
    return np.array_equal(np.where(np.isfinite(a), a, np.nan), b, equal_nan=True)


def same_bits(results, doc):
    assert results.frames.tolist() == [f["frame"] for f in doc["frames"]]
    assert same(results.times, [f["time"] for f in doc["frames"]])
    for name, q in results.quantities.items():
        for k, frame in enumerate(doc["frames"]):
            assert same(q.value[k], frame[name]["value"]), (name, k)
            assert same(q.std[k], frame[name]["std"]), (name, k)


def test_an_xtc_with_its_gro_and_a_selection_gives_the_command_lines_bits():
    gro, xtc = shared_data("adk_oplsaa.gro"), shared_data("adk_oplsaa.xtc")
    r = trajwalk.run(xtc, topology=gro, select="protein", frames=[0, 7], **OPTIONS)
    doc = cli_json(xtc, "--topology", gro, "--select", "protein", "--frames", "0,7", *CLI)
    assert r.frames.tolist() == [0, 7]
    assert r.time_unit == "ps"
    assert np.all((r.hydrodynamic_radius.value > 20) & (r.hydrodynamic_radius.value < 25)), r.hydrodynamic_radius.value
    same_bits(r, doc)


def test_several_files_are_one_trajectory_as_on_the_command_line():
    top, xtc, trr = (shared_data(f"mda-coordinates/{n}") for n in ("test_topology.pdb", "test.xtc", "test.trr"))
    r = trajwalk.run([xtc, trr], topology=top, unwrap=False, **OPTIONS)
    doc = cli_json(xtc, trr, "--topology", top, "--no-unwrap", *CLI)
    assert r.frames.tolist() == list(range(10))
    same_bits(r, doc)
    # A tuple is a list; one path of the chain is that file alone.
    alone = trajwalk.run((xtc,), topology=top, unwrap=False, stop=2, **OPTIONS)
    assert np.array_equal(alone.volume.value, r.volume.value[:2])


@pytest.mark.parametrize("ext", ["xtc", "trr"])
def test_mdanalysis_written_files_give_the_command_lines_bits(written, tmp_path, ext):
    import MDAnalysis as mda

    # MDAnalysis's own XTC and TRR of the test frames (its DCD of frames without a box has a
    # cell of zero angles, which chemfiles refuses).
    top, path = written / "topology.pdb", tmp_path / f"frames.{ext}"
    u = mda.Universe(str(top), str(written / "trajectory.xtc"))
    with mda.Writer(str(path), n_atoms=len(u.atoms)) as w:
        for _ in u.trajectory:
            w.write(u.atoms)
    r = trajwalk.run(path, topology=top, radii=1.6, **OPTIONS)
    doc = cli_json(path, "--topology", top, "--radius", 1.6, *CLI)
    assert len(r) == 6
    same_bits(r, doc)


def test_a_bad_file_among_several_raises_the_library_message(tmp_path):
    top, xtc = shared_data("mda-coordinates/test_topology.pdb"), shared_data("mda-coordinates/test.xtc")
    bad = tmp_path / "md.foo"
    bad.write_text("x")
    with pytest.raises(ValueError, match=r"md\.foo: unsupported input format 'foo': expected one of .*\.xtc .*\(`trajwalk formats` lists them\)$"):
        trajwalk.run([xtc, bad], topology=top)
