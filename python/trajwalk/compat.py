"""A drop-in for ZenoWrapper (usnistgov/zenowrapper): ``from trajwalk.compat import
ZenoWrapper`` in place of ``from zenowrapper import ZenoWrapper``, and nothing else changes:
the same constructor and defaults, the same two ValueError messages for radii, results as
:class:`Property` objects under ZenoWrapper's names and shapes, the same ``overall_*``.

What differs, on purpose:

- Speed and reproducibility: ``run()`` without a backend uses trajwalk's backend (one
  process, the planner's threads or frames in parallel, a progress bar with
  ``verbose=True``); MDAnalysis's ``serial``, ``multiprocessing`` and ``dask`` work as
  before. A frame's numbers are the same bits whichever backend or worker count computes it.
- ``seed=-1`` (ZenoWrapper's "random seed") is seed 0: trajwalk's runs are reproducible.
  ``max_run_time`` is not honoured (a time limit would make the numbers depend on the
  machine) and warns; ``min_n_walks`` and ``min_n_interior_samples`` have no effect
  (trajwalk's stopping rule checks the targets from its first batch on). ``max_rsd_*`` are in
  percent, as ZENO's command line takes them. ``num_threads`` is the threads per frame on
  MDAnalysis's backends; the trajwalk backend's planner chooses unless it is above 1.
- Units of the transport coefficients: ZenoWrapper labels them from the viscosity's value
  (``"A * 0.01"``); the numbers are ZENO's units, and so are the labels here:
  ``friction_coefficient`` in g/s (d.s/cm), ``diffusion_coefficient`` in cm^2/s,
  ``sedimentation_coefficient`` in S (svedberg), ``mass_intrinsic_viscosity`` in cm^3/g.
- Frames are used as MDAnalysis delivers them, as ZenoWrapper does (no unwrap across the
  periodic box); ``trajwalk.mda.TrajWalk`` makes molecules whole by default.
- ``variance`` is the Monte Carlo variance plus ZENO's model variance where ZENO imposes one
  (1% on Rh, 1.5% on q_eta, ...), as ZENO's reported uncertainty includes it.
- ``overall_variance`` is kept as ZenoWrapper defines it, the sum of the frames' variances
  (which is not the variance of anything over frames). ``overall_sem`` is what to quote: the
  standard error of the mean over frames, corrected for their correlation with the
  statistical inefficiency (trajwalk's summary), and ``overall_statistical_inefficiency``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _trajwalk
from .mda import TrajWalk

# ZenoWrapper's name, trajwalk's quantity, and how it is shaped per frame.
_ALWAYS = [
    ("capacitance", "capacitance"),
    ("electric_polarizability_tensor", "polarizability_tensor"),
    ("electric_polarizability_eigenvalues", "polarizability_eigenvalues"),
    ("electric_polarizability", "mean_polarizability"),
    ("intrinsic_conductivity", "intrinsic_conductivity"),
    ("volume", "volume"),
    ("gyration_tensor", "gyration_tensor"),
    ("gyration_eigenvalues", "gyration_eigenvalues"),
    ("capacitance_same_volume_sphere", "equal_volume_sphere_capacitance"),
    ("hydrodynamic_radius", "hydrodynamic_radius"),
    ("prefactor_polarizability2intrinsic_viscosity", "q_eta"),
    ("viscometric_radius", "viscometric_radius"),
    ("intrinsic_viscosity", "intrinsic_viscosity"),
]

_LENGTH_UNITS = {"m": "m", "cm": "cm", "nm": "nm", "A": "A", "L": "L"}


class Property:
    """One ZenoWrapper result: ``values`` and ``variance`` per frame, its ``unit``, and after
    :meth:`compute_total_values` ``overall_value`` (the mean over frames), ``overall_variance``
    (ZenoWrapper's sum of the frames' variances) and ``overall_sem`` (the standard error of
    the mean over frames, corrected for correlation between frames)."""

    def __init__(self, name: str, shape, unit: str | None) -> None:
        self.name = name
        self.values = np.nan * np.ones(shape, dtype=float)
        self.variance = np.nan * np.ones(shape, dtype=float)
        self.unit = unit
        self.shape = shape
        self.overall_value = None
        self.overall_variance = None
        self.overall_sem = None
        self.overall_statistical_inefficiency = None

    def add_value(self, index, value) -> None:
        self.values[index] = value

    def add_variance(self, index, value) -> None:
        self.variance[index] = value

    def compute_total_values(self) -> None:
        if np.any(np.isnan(self.values)):
            raise ValueError(f"Values of NaN found in {self.name}")
        self.overall_value = np.nanmean(self.values, axis=0)
        self.overall_variance = np.nansum(self.variance, axis=0)
        n = self.values.shape[0]
        flat = self.values.reshape(n, -1)
        g = np.array([_trajwalk.statistical_inefficiency(flat[:, k].tolist()) or np.nan for k in range(flat.shape[1])])
        var = np.var(flat, axis=0, ddof=1) if n > 1 else np.full(flat.shape[1], np.nan)
        sem = np.sqrt(var * np.where(np.isnan(g), 1.0, g) / n)
        shape = self.values.shape[1:]
        self.overall_statistical_inefficiency = g.reshape(shape) if shape else float(g[0])
        self.overall_sem = sem.reshape(shape) if shape else float(sem[0])


class ZenoWrapper(TrajWalk):
    """ZenoWrapper's analysis, computed by trajwalk. See the module's docstring for what
    differs (units of the transport coefficients, ``overall_sem``, seeds)."""

    def __init__(
        self,
        atom_group,
        type_radii=None,
        n_walks=100000,
        min_n_walks=None,
        n_interior_samples=10000,
        min_n_interior_samples=None,
        max_rsd_capacitance=None,
        max_rsd_polarizability=None,
        max_rsd_volume=None,
        max_run_time=None,
        num_threads=1,
        temperature=None,
        size_scaling_factor=1.0,
        launch_radius=None,
        skin_thickness=None,
        mass=None,
        viscosity=None,
        buoyancy_factor=None,
        temperature_units="K",
        viscosity_units="p",
        length_units="A",
        mass_units="g",
        seed=-1,
        verbose=False,
        **kwargs,
    ) -> None:
        if type_radii is None:
            type_radii = {}
        if len(type_radii) == 0:
            raise ValueError("Please specify radii for atom/bead types: {}".format(", ".join(atom_group.types)))
        missing_radii = [x for x in atom_group.types if x not in type_radii]
        if missing_radii:
            raise ValueError("Missing radii for atom/bead types: {}".format(", ".join(missing_radii)))
        if max_run_time is not None:
            warnings.warn("trajwalk does not honour max_run_time: a time limit would make the numbers depend on the machine", stacklevel=2)
        self.type_radii = np.array([type_radii[t] * size_scaling_factor for t in atom_group.types])
        self.universe = atom_group.universe
        self.atom_group = atom_group
        self.length_units = length_units
        self.mass_units = mass_units
        self.temperature_units = temperature_units
        self.viscosity_units = viscosity_units
        self.verbose = verbose
        self.temperature = temperature
        self.mass = mass
        self.viscosity = viscosity
        self.buoyancy_factor = buoyancy_factor
        options = {
            "n_walks": n_walks,
            "n_interior_samples": n_interior_samples,
            "max_rsd_capacitance": max_rsd_capacitance,
            "max_rsd_polarizability": max_rsd_polarizability,
            "max_rsd_volume": max_rsd_volume,
            "launch_radius": launch_radius,
            "skin_thickness": skin_thickness,
            "seed": 0 if seed == -1 else seed,
            "buoyancy_factor": buoyancy_factor,
            "temperature": None if temperature is None else f"{temperature}{temperature_units}",
            "viscosity": None if viscosity is None else f"{viscosity}{viscosity_units}",
            "mass": None if mass is None else f"{mass}{mass_units}",
        }
        self._num_threads = num_threads
        if num_threads > 1:
            options["threads"] = num_threads
        options = {k: v for k, v in options.items() if v is not None}
        super().__init__(
            atom_group, self.type_radii, unwrap=False, length_unit=_LENGTH_UNITS.get(length_units, "L"), verbose=verbose, **options, **kwargs
        )

    def run(self, *args, backend=None, **kwargs):
        if backend not in (None, "trajwalk") and self._num_threads == 1:
            # ZenoWrapper's default on its backends: one thread per frame.
            self._options.setdefault("threads", 1)
        return super().run(*args, backend=backend, **kwargs)

    def _names(self):
        names = list(_ALWAYS)
        if self.viscosity is not None:
            names.append(("friction_coefficient", "friction_coefficient"))
            if self.mass is not None and self.buoyancy_factor is not None:
                names.append(("sedimentation_coefficient", "sedimentation_coefficient"))
            if self.temperature is not None:
                names.append(("diffusion_coefficient", "diffusion_coefficient"))
        if self.mass is not None:
            names.append(("mass_intrinsic_viscosity", "intrinsic_viscosity_mass_units"))
        return names

    def _conclude(self):
        super()._conclude()
        results = self.results.get("trajwalk")
        n = self.n_frames
        for zeno_name, name in self._names():
            q = None if results is None else results.quantities.get(name)
            if q is None:
                raise ValueError(f"trajwalk computed no {name} for {zeno_name}: are its conditions complete?")
            prop = Property(zeno_name, (n,) + q.value.shape[1:], q.unit)
            prop.values = q.value.astype(float)
            model = 0.0 if q.model_std is None else q.model_std**2
            prop.variance = q.std**2 + model
            prop.compute_total_values()
            self.results[zeno_name] = prop
        for name in list(self.results.keys()):
            if name not in dict(self._names()) and name != "trajwalk":
                del self.results[name]
