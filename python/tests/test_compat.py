"""trajwalk.compat.ZenoWrapper keeps ZenoWrapper's contract (usnistgov/zenowrapper's
src/zenowrapper/main.py): constructor, messages, names, shapes, conditional results,
overall_*; and the parallelization guide's example runs with only the import changed."""

import inspect
import os

import MDAnalysis as mda
import numpy as np
import pytest
import trajwalk
from conftest import coordinates, universe, z_ok
from trajwalk import TrajwalkWarning
from trajwalk.compat import Property, ZenoWrapper
from trajwalk.mda import TrajWalk

RADII = {"C": 1.7, "N": 1.55, "O": 1.52, "S": 1.8}
FAST = dict(n_walks=2000, n_interior_samples=2000, seed=1)


def test_the_constructor_is_zenowrappers():
    p = inspect.signature(ZenoWrapper.__init__).parameters
    expected = dict(
        type_radii=None, n_walks=100000, min_n_walks=None, n_interior_samples=10000, min_n_interior_samples=None,
        max_rsd_capacitance=None, max_rsd_polarizability=None, max_rsd_volume=None, max_run_time=None, num_threads=1,
        temperature=None, size_scaling_factor=1.0, launch_radius=None, skin_thickness=None, mass=None, viscosity=None,
        buoyancy_factor=None, temperature_units="K", viscosity_units="p", length_units="A", mass_units="g", seed=-1, verbose=False,
    )
    assert list(p)[:2] == ["self", "atom_group"]
    assert {k: p[k].default for k in expected} == expected
    assert list(p)[2:-1] == list(expected) and p["kwargs"].kind == inspect.Parameter.VAR_KEYWORD


def test_radii_errors_are_zenowrappers():
    u = universe(coordinates(1))
    with pytest.raises(ValueError) as e:
        ZenoWrapper(u.atoms)
    assert str(e.value) == "Please specify radii for atom/bead types: C (4 atoms), N (2 atoms), O (1 atom), S (1 atom)"
    with pytest.raises(ValueError) as e:
        ZenoWrapper(u.atoms, type_radii={"C": 1.7, "N": 1.55})
    assert str(e.value) == "Missing radii for atom/bead types: O (1 atom), S (1 atom)"
    z = ZenoWrapper(u.atoms, type_radii=RADII, size_scaling_factor=2.0)
    assert z.type_radii.tolist() == [2 * RADII[t] for t in u.atoms.types]


NAMES = {
    "capacitance": (), "electric_polarizability_tensor": (3, 3), "electric_polarizability_eigenvalues": (3,),
    "electric_polarizability": (), "intrinsic_conductivity": (), "volume": (), "gyration_tensor": (3, 3),
    "gyration_eigenvalues": (3,), "capacitance_same_volume_sphere": (), "hydrodynamic_radius": (),
    "prefactor_polarizability2intrinsic_viscosity": (), "viscometric_radius": (), "intrinsic_viscosity": (),
}
CONDITIONAL = ["friction_coefficient", "diffusion_coefficient", "sedimentation_coefficient", "mass_intrinsic_viscosity"]


def test_results_are_properties_with_zenowrappers_names_shapes_and_overalls():
    u = universe(coordinates(5))
    z = ZenoWrapper(u.atoms, type_radii=RADII, **FAST)
    z.run()
    # ZenoWrapper's results exactly: its names in its order, each a Property.
    assert list(z.results.keys()) == list(NAMES)
    assert all(isinstance(p, Property) for _, p in z.results.items())
    for name, shape in NAMES.items():
        prop = z.results[name]
        assert prop.name == name and prop.values.shape == (5,) + shape and prop.variance.shape == (5,) + shape
        np.testing.assert_array_equal(prop.overall_value, prop.values.mean(axis=0))
        np.testing.assert_array_equal(prop.overall_variance, prop.variance.sum(axis=0))
        assert np.shape(prop.overall_sem) == shape
    rh = z.results.hydrodynamic_radius
    assert rh.unit == "A" and z.results.volume.unit == "A^3" and z.results.gyration_tensor.unit == "A^2"
    # Dimensionless quantities have no unit, as in ZenoWrapper.
    assert [z.results[n].unit for n in ("intrinsic_conductivity", "prefactor_polarizability2intrinsic_viscosity", "intrinsic_viscosity")] == [None] * 3
    # The variance holds ZENO's 1% model uncertainty beside the Monte Carlo one.
    t = z.trajwalk_results.hydrodynamic_radius
    np.testing.assert_allclose(rh.variance, t.std**2 + (0.01 * t.value) ** 2)
    g = rh.overall_statistical_inefficiency or 1.0
    assert rh.overall_sem == pytest.approx(np.sqrt(np.var(rh.values, ddof=1) * g / 5))


def test_conditional_results_appear_with_their_conditions_in_zenos_units():
    u = universe(coordinates(2))
    z = ZenoWrapper(u.atoms, type_radii=RADII, **FAST)
    z.run()
    assert not set(CONDITIONAL) & set(z.results.keys())
    z = ZenoWrapper(u.atoms, type_radii=RADII, viscosity=1.002, viscosity_units="cp", temperature=20, temperature_units="C",
                    mass=500.0, mass_units="Da", buoyancy_factor=0.73, **FAST)
    z.run()
    units = {n: z.results[n].unit for n in CONDITIONAL}
    assert units == {"friction_coefficient": "g/s", "diffusion_coefficient": "cm^2/s", "sedimentation_coefficient": "S", "mass_intrinsic_viscosity": "cm^3/g"}
    # D = kT / f, in cm^2/s from g/s.
    kT = 1.380649e-23 * 293.15
    D = kT / (z.results.friction_coefficient.values * 1e-3) * 1e4
    np.testing.assert_allclose(z.results.diffusion_coefficient.values, D, rtol=1e-12)
    z = ZenoWrapper(u.atoms, type_radii=RADII, viscosity=0.01, **FAST)
    z.run()
    assert set(CONDITIONAL) & set(z.results.keys()) == {"friction_coefficient"}


def test_zenowrappers_backends_agree(written):
    u = mda.Universe(str(written / "topology.pdb"), str(written / "trajectory.xtc"))
    serial = ZenoWrapper(u.atoms, type_radii=RADII, **FAST)
    serial.run(backend="serial")
    parallel = ZenoWrapper(u.atoms, type_radii=RADII, **FAST)
    parallel.run(backend="multiprocessing", n_workers=2)
    for name in NAMES:
        assert np.array_equal(serial.results[name].values, parallel.results[name].values), name


def test_the_parallelization_guides_example_runs_with_only_the_import_changed(tmp_path, monkeypatch):
    from conftest import write

    write(tmp_path, universe(coordinates(), elements=["C", "N", "C", "O", "C", "O", "C", "N"]))
    monkeypatch.chdir(tmp_path)
    # docs/source/parallelization.rst, "Frame-level parallelism", verbatim but the import.
    import MDAnalysis as mda
    from trajwalk.compat import ZenoWrapper

    u = mda.Universe('topology.pdb', 'trajectory.dcd')  # 1000 frames

    zeno = ZenoWrapper(
        u.atoms,
        type_radii={'C': 1.7, 'N': 1.55, 'O': 1.52},
        n_walks=50000,       # Moderate computation per frame
        n_interior_samples=5000,
        num_threads=1        # Single-threaded per frame
    )

    # Distribute frames across 16 workers
    zeno.run(backend='multiprocessing', n_workers=16)
    assert zeno.results.hydrodynamic_radius.values.shape == (6,)
    assert np.all(np.isfinite(zeno.results.hydrodynamic_radius.values))


def spread_and_compact():
    """Two frames of 8 atoms: frame 0 a compact chain, frame 1 the atoms 100 A apart, where
    a few hundred interior samples in the launch sphere miss every atom."""
    compact = coordinates(1)[0]
    spread = np.array([[100.0 * i, 0.0, 0.0] for i in range(8)], dtype=np.float32)
    return universe(np.stack([compact, spread]))


def test_a_frame_without_interior_hits_is_zeros_and_a_warning_not_a_lost_run():
    u = spread_and_compact()
    z = ZenoWrapper(u.atoms, type_radii=RADII, n_walks=2000, n_interior_samples=300, seed=1)
    with pytest.warns(TrajwalkWarning) as record:
        z.run()
    unknown = ["intrinsic_conductivity", "gyration_tensor", "gyration_eigenvalues", "prefactor_polarizability2intrinsic_viscosity", "viscometric_radius", "intrinsic_viscosity"]
    assert [str(w.message) for w in record] == [
        f"frame 1: {', '.join(unknown)} could not be computed (no interior sample fell inside the body: "
        "raise n_interior_samples) and are reported as 0, as ZENO does"
    ]
    t = z.trajwalk_results
    for name in unknown:
        prop = z.results[name]
        assert np.all(prop.values[1] == 0) and np.all(prop.variance[1] == 0), name
        assert np.all(np.isfinite(prop.values[0])) and np.all(prop.values[0] != 0), name
        np.testing.assert_array_equal(prop.overall_value, prop.values.mean(axis=0))
    # What was computed is kept: the walks of frame 1 and the volume it found (none).
    assert z.results.volume.values[1] == 0.0
    np.testing.assert_array_equal(z.results.capacitance.values, t.capacitance.value)
    assert np.all(np.isfinite(z.results.hydrodynamic_radius.values))


def test_a_run_of_no_frames_gives_empty_properties():
    u = universe(coordinates(3))
    z = ZenoWrapper(u.atoms, type_radii=RADII, **FAST).run(start=2, stop=2)
    assert list(z.results.keys()) == list(NAMES)
    assert z.results.hydrodynamic_radius.values.shape == (0,)
    assert z.results.gyration_tensor.values.shape == (0, 3, 3)
    assert np.isnan(z.results.hydrodynamic_radius.overall_value)


def test_zenowrappers_ignored_keywords_warn_and_misspelt_ones_are_refused_at_construction():
    u = universe(coordinates(2))
    with pytest.warns(UserWarning) as record:
        z = ZenoWrapper(u.atoms, type_radii=RADII, seed_interior=42, max_run_time_interior=10.0, launch_radius_interior=50.0, **FAST)
    assert [str(w.message) for w in record] == [
        "seed_interior, max_run_time_interior, launch_radius_interior have no effect, as in ZenoWrapper "
        "(the walks and the interior samples share seed, max_run_time and launch_radius)"
    ]
    z.run()
    plain = ZenoWrapper(u.atoms, type_radii=RADII, **FAST).run()
    np.testing.assert_array_equal(z.results.volume.values, plain.results.volume.values)
    with pytest.raises(TypeError) as e:
        ZenoWrapper(u.atoms, type_radii=RADII, n_walk=100)
    assert str(e.value) == "unexpected keyword argument 'n_walk': did you mean 'n_walks' or 'min_n_walks'?"
    with pytest.raises(TypeError) as e:
        ZenoWrapper(u.atoms, type_radius=RADII)
    assert str(e.value) == "unexpected keyword argument 'type_radius': did you mean 'type_radii'?"
    # trajwalk's own options pass through.
    assert ZenoWrapper(u.atoms, type_radii=RADII, strategy="serial", unwrap=False, **FAST) is not None


def test_the_constructors_verbose_prints_a_line_per_frame_and_runs_verbose_shows_the_bar(capsys):
    u = universe(coordinates(3))
    for backend in (None, "serial"):
        ZenoWrapper(u.atoms, type_radii=RADII, verbose=True, **FAST).run(backend=backend)
        out, err = capsys.readouterr()
        assert out == "Analyzing frame 0\nAnalyzing frame 1\nAnalyzing frame 2\n", backend
        assert "3/3" not in err, backend
    ZenoWrapper(u.atoms, type_radii=RADII, **FAST).run(verbose=True)
    out, err = capsys.readouterr()
    assert out == "" and "3/3" in err


def chain_across_the_box(box):
    """8 atoms 1.5 A apart along x, the chain's middle on the face of a cubic `box`: the
    whole chain (frames x atoms x 3) and the same wrapped into the box, as MD writes it."""
    whole = np.array([[box - 5.25 + 1.5 * i, 2.0, 2.0] for i in range(8)])
    whole = np.stack([whole, whole + [0.0, 0.5, 0.0]]).astype(np.float32)
    return whole, np.mod(whole, box).astype(np.float32)


def boxed_universe(positions, box):
    u = universe(positions)
    for ts in u.trajectory:
        ts.dimensions = [box, box, box, 90, 90, 90]
    return u


def test_molecules_split_across_the_box_are_made_whole_unless_unwrap_is_false():
    whole, wrapped = chain_across_the_box(20.0)
    u = boxed_universe(wrapped, 20.0)
    options = dict(type_radii=RADII, n_walks=20000, n_interior_samples=2000, seed=3)
    made_whole = ZenoWrapper(u.atoms, **options).run()
    as_delivered = ZenoWrapper(u.atoms, unwrap=False, **options).run()
    radii = made_whole.type_radii
    reference = trajwalk.compute(whole, radii, n_walks=20000, n_interior_samples=2000, seed=3).hydrodynamic_radius
    rh = made_whole.results.hydrodynamic_radius
    assert z_ok(rh.values, np.sqrt(rh.variance), reference.value)
    # Split in two halves 10 A apart, the wrapped chain looks larger, by far more than its std.
    assert np.all(as_delivered.results.hydrodynamic_radius.values > 1.15 * reference.value)


def test_a_body_wider_than_its_box_is_warned_about():
    whole, wrapped = chain_across_the_box(8.0)
    u = boxed_universe(wrapped, 8.0)
    with pytest.warns(TrajwalkWarning) as record:
        ZenoWrapper(u.atoms, type_radii=RADII, **FAST).run()
    assert [str(w.message) for w in record] == [
        "frames 0, 1: the body overlaps its own periodic image after unwrapping (atom 0 and the image of atom 5, by "
        "3.000 A): several molecules, or a selection that is not one? (the numbers are frame 0's)"
    ]
    assert record[0].filename == __file__


def test_results_iterate_as_zenowrappers_do():
    u = universe(coordinates(2))
    z = ZenoWrapper(u.atoms, type_radii=RADII, viscosity=0.01, **FAST).run()
    shapes = {name: p.values.shape for name, p in z.results.items()}
    assert shapes == {**{n: (2,) + s for n, s in NAMES.items()}, "friction_coefficient": (2,)}
    assert z.trajwalk_results.frames.tolist() == [0, 1]


def test_a_runs_options_do_not_leak_into_the_next(monkeypatch):
    import trajwalk.mda

    seen = []
    compute = trajwalk.mda._compute

    def spy(*args, **kwargs):
        seen.append({k: kwargs[k] for k in ("strategy", "threads") if k in kwargs})
        return compute(*args, **kwargs)

    monkeypatch.setattr(trajwalk.mda, "_compute", spy)
    u = universe(coordinates(2))
    z = ZenoWrapper(u.atoms, type_radii=RADII, **FAST)
    z.run(backend="serial")
    assert seen == [{"threads": 1}, {"threads": 1}]
    seen.clear()
    z.run()
    assert seen == [{}]
    # The workers of a parallel backend run one thread each; the next run is the planner's.
    t = TrajWalk(u.atoms, 1.6, **FAST)
    t.run(backend="multiprocessing", n_workers=2)
    assert t._run_options == {"strategy": "serial"}
    seen.clear()
    t.run()
    assert seen == [{}]


def test_missing_radii_are_listed_once_per_type_with_their_counts():
    u = mda.Universe.empty(20000, trajectory=True)
    u.add_TopologyAttr("types", ["C"] * 5 + ["DUMMY"] * 19990 + ["OW"] * 5)
    with pytest.raises(ValueError) as e:
        ZenoWrapper(u.atoms, type_radii={"C": 1.7})
    assert str(e.value) == "Missing radii for atom/bead types: DUMMY (19990 atoms), OW (5 atoms)"
    with pytest.raises(TypeError) as e:
        ZenoWrapper(u.atoms, type_radii={"C": 1.7, "DUMMY": None, "OW": 1.5})
    assert str(e.value) == "the radius of atom type 'DUMMY' must be a number, not None"
