"""trajwalk.mda.TrajWalk on frames MDAnalysis's writers wrote: the command line's bits, the
same arrays from every backend, and a real protein."""

import MDAnalysis as mda
import numpy as np
import pytest
from conftest import cli_json, shared_data, write_h5md
from trajwalk.mda import TrajWalk

OPTIONS = dict(n_walks=3000, n_interior_samples=3000, seed=4)


def walk(u, backend=None, **kwargs):
    return TrajWalk(u.atoms, 1.6, **OPTIONS).run(backend=backend, **kwargs).results


@pytest.mark.parametrize("ext", ["xtc", "dcd"])
def test_frames_read_from_xtc_and_dcd_give_the_command_lines_bits(written, tmp_path, ext):
    u = mda.Universe(str(written / "topology.pdb"), str(written / f"trajectory.{ext}"))
    positions = np.array([u.atoms.positions.copy() for _ in u.trajectory])
    results = TrajWalk(u.atoms, 1.6, chunk_frames=4, **OPTIONS).run().results
    h5 = write_h5md(tmp_path / "same.h5md", positions)
    doc = cli_json(h5, "--radius", 1.6, "--walks", OPTIONS["n_walks"], "--interior", OPTIONS["n_interior_samples"], "--seed", OPTIONS["seed"])
    assert results.trajwalk.frames.tolist() == [f["frame"] for f in doc["frames"]] == list(range(len(u.trajectory)))
    for name, q in results.trajwalk.quantities.items():
        for k, frame in enumerate(doc["frames"]):
            assert np.array_equal(q.value[k].ravel(), np.ravel(frame[name]["value"])), (name, k)
            assert np.array_equal(q.std[k].ravel(), np.ravel(frame[name]["std"])), (name, k)


def test_every_backend_gives_the_same_arrays(written):
    u = mda.Universe(str(written / "topology.pdb"), str(written / "trajectory.dcd"))
    runs = {
        "trajwalk": walk(u),
        "serial": walk(u, "serial"),
        "multiprocessing": walk(u, "multiprocessing", n_workers=2),
        "dask": walk(u, "dask", n_workers=2),
    }
    reference = runs.pop("trajwalk").trajwalk
    assert reference.frames.tolist() == list(range(6))
    for backend, r in runs.items():
        assert r.trajwalk.frames.tolist() == reference.frames.tolist(), backend
        for name, q in reference.quantities.items():
            assert np.array_equal(r[name].value, q.value), (backend, name)
            assert np.array_equal(r[name].std, q.std), (backend, name)
    # A frame keeps its bits in any selection of frames.
    some = TrajWalk(u.atoms, 1.6, **OPTIONS).run(frames=[4, 1], backend="multiprocessing", n_workers=2).results
    assert some.trajwalk.frames.tolist() == [4, 1]
    assert np.array_equal(some.volume.value, reference.volume.value[[4, 1]])


def test_radii_come_from_elements_or_types():
    from conftest import coordinates, universe

    u = universe(coordinates(2))
    by_element = TrajWalk(u.atoms, **OPTIONS).run().results
    table = {"C": 1.7, "N": 1.55, "O": 1.52, "S": 1.8}
    by_type = TrajWalk(u.atoms, table, **OPTIONS).run().results
    # The Bondi radii are those of the table above.
    assert np.array_equal(by_element.volume.value, by_type.volume.value)
    with pytest.raises(ValueError, match=r"^no radius for the atom types S$"):
        TrajWalk(u.atoms, {"C": 1.7, "N": 1.55, "O": 1.52})


def test_a_solvated_protein_has_a_small_proteins_hydrodynamic_radius_in_every_frame():
    gro, xtc = shared_data("adk_oplsaa.gro"), shared_data("adk_oplsaa.xtc")
    u = mda.Universe(str(gro), str(xtc))
    protein = u.select_atoms("protein")
    radii = {t: {"C": 1.7, "N": 1.55, "O": 1.52, "S": 1.8, "H": 1.1}[t[0]] for t in set(protein.types)}
    r = TrajWalk(protein, radii, n_walks=2000, n_interior_samples=2000).run().results
    rh = r.hydrodynamic_radius.value
    assert len(rh) == len(u.trajectory)
    assert np.all((rh > 20) & (rh < 25)), rh


def test_a_gro_without_elements_says_how_to_guess_them(tmp_path):
    from conftest import coordinates, universe

    universe(coordinates(1)).atoms.write(tmp_path / "chain.gro")
    u = mda.Universe(str(tmp_path / "chain.gro"))
    with pytest.raises(ValueError) as e:
        TrajWalk(u.atoms)
    assert str(e.value) == (
        "the atoms have no elements (MDAnalysis guesses none for some formats, GRO among them): give radii "
        "(one per atom, a dict by atom type, or one number), or guess the elements first with "
        "u.guess_TopologyAttrs(to_guess=['elements'])"
    )
    # The advice works.
    u.guess_TopologyAttrs(to_guess=["elements"])
    r = TrajWalk(u.atoms, **OPTIONS).run().results
    assert r.volume.value.shape == (1,)


@pytest.mark.parametrize("value, shown", [(None, "None"), ("abc", "'abc'"), (1j, "1j")])
def test_a_radius_that_is_not_a_number_is_named_with_its_type(value, shown):
    from conftest import coordinates, universe

    u = universe(coordinates(1))
    with pytest.raises(TypeError) as e:
        TrajWalk(u.atoms, {"C": 1.7, "N": value, "O": 1.52, "S": 1.8})
    assert str(e.value) == f"the radius of atom type 'N' must be a number, not {shown}"


def test_a_misspelt_option_is_refused_at_construction():
    from conftest import coordinates, universe

    u = universe(coordinates(1))
    with pytest.raises(TypeError) as e:
        TrajWalk(u.atoms, 1.6, n_interior_sample=10)
    assert str(e.value) == "unexpected keyword argument 'n_interior_sample': did you mean 'n_interior_samples'?"
    with pytest.raises(TypeError) as e:
        TrajWalk(u.atoms, 1.6, chunk_frame=10)
    assert str(e.value) == "unexpected keyword argument 'chunk_frame': did you mean 'chunk_frames'?"
