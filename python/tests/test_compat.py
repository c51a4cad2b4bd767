"""trajwalk.compat.ZenoWrapper keeps ZenoWrapper's contract (usnistgov/zenowrapper's
src/zenowrapper/main.py): constructor, messages, names, shapes, conditional results,
overall_*; and the parallelization guide's example runs with only the import changed."""

import inspect
import os

import MDAnalysis as mda
import numpy as np
import pytest
from conftest import coordinates, universe
from trajwalk.compat import ZenoWrapper

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
    assert str(e.value) == "Please specify radii for atom/bead types: C, N, C, O, C, S, C, N"
    with pytest.raises(ValueError) as e:
        ZenoWrapper(u.atoms, type_radii={"C": 1.7, "N": 1.55})
    assert str(e.value) == "Missing radii for atom/bead types: O, S"
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
    names = set(z.results.keys()) - {"trajwalk"}
    assert names == set(NAMES)
    for name, shape in NAMES.items():
        prop = z.results[name]
        assert prop.name == name and prop.values.shape == (5,) + shape and prop.variance.shape == (5,) + shape
        np.testing.assert_array_equal(prop.overall_value, prop.values.mean(axis=0))
        np.testing.assert_array_equal(prop.overall_variance, prop.variance.sum(axis=0))
        assert np.shape(prop.overall_sem) == shape
    rh = z.results.hydrodynamic_radius
    assert rh.unit == "A" and z.results.volume.unit == "A^3"
    # The variance holds ZENO's 1% model uncertainty beside the Monte Carlo one.
    t = z.results.trajwalk.hydrodynamic_radius
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
