"""A drop-in for ZenoWrapper (usnistgov/zenowrapper): ``from trajwalk.compat import
ZenoWrapper`` in place of ``from zenowrapper import ZenoWrapper``, and nothing else changes:
the same constructor and defaults, the radii ValueErrors with ZenoWrapper's prefixes, results as
:class:`Property` objects under ZenoWrapper's names and shapes, the same ``overall_*``.

What differs, on purpose:

- Speed and reproducibility: ``run()`` without a backend uses trajwalk's backend (one
  process, the planner's threads or frames in parallel, a progress bar with
  ``run(verbose=True)``; the constructor's ``verbose`` prints ZenoWrapper's
  ``Analyzing frame N`` lines); MDAnalysis's ``serial``, ``multiprocessing`` and ``dask`` work as
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
- Frames with a periodic box have their molecules made whole (by residues) before the
  walks, where ZenoWrapper uses them as MDAnalysis delivers them, split across the box and
  silently wrong; ``unwrap=False`` gives ZenoWrapper's behaviour. A body wider than the box
  after unwrapping (several molecules?) is warned about, as on the command line.
- A quantity a frame cannot give (no interior sample inside the body) is reported as 0
  with a warning naming the frames and quantities, as ZENO reports it, where ZenoWrapper
  raises ``Values of NaN found`` after the whole run.
- ``seed_interior``, ``max_run_time_interior`` and ``launch_radius_interior``, which
  ZenoWrapper takes and ignores, warn that they have no effect; any other keyword it does
  not know is refused with the close names (``n_walk``: did you mean ``n_walks``?), where
  ZenoWrapper ignores it. Radii errors list each missing type once, with its count.
- The frames' :class:`trajwalk.Results` are ``trajwalk_results``; ``results`` holds only
  ZenoWrapper's names. The library's warnings are issued as :class:`trajwalk.TrajwalkWarning`.
- ``variance`` is the Monte Carlo variance plus ZENO's model variance where ZENO imposes one
  (1% on Rh, 1.5% on q_eta, ...), as ZENO's reported uncertainty includes it.
- ``overall_variance`` is kept as ZenoWrapper defines it, the sum of the frames' variances
  (which is not the variance of anything over frames). ``overall_sem`` is what to quote: the
  standard error of the mean over frames, corrected for their correlation with the
  statistical inefficiency (trajwalk's summary), and ``overall_statistical_inefficiency``.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from . import TrajwalkWarning, _frame_list, _trajwalk, caller_level, check_options
from .mda import TrajWalk, type_radius

# ZenoWrapper's name, trajwalk's quantity, its shape per frame and its unit as ZenoWrapper
# writes it ("L" the length unit; None dimensionless), in ZenoWrapper's order of results.
_ALWAYS = [
    ("capacitance", "capacitance", (), "L"),
    ("electric_polarizability_tensor", "polarizability_tensor", (3, 3), "L^3"),
    ("electric_polarizability_eigenvalues", "polarizability_eigenvalues", (3,), "L^3"),
    ("electric_polarizability", "mean_polarizability", (), "L^3"),
    ("intrinsic_conductivity", "intrinsic_conductivity", (), None),
    ("volume", "volume", (), "L^3"),
    ("gyration_tensor", "gyration_tensor", (3, 3), "L^2"),
    ("gyration_eigenvalues", "gyration_eigenvalues", (3,), "L^2"),
    ("capacitance_same_volume_sphere", "equal_volume_sphere_capacitance", (), "L"),
    ("hydrodynamic_radius", "hydrodynamic_radius", (), "L"),
    ("prefactor_polarizability2intrinsic_viscosity", "q_eta", (), None),
    ("viscometric_radius", "viscometric_radius", (), "L"),
    ("intrinsic_viscosity", "intrinsic_viscosity", (), None),
]

# The transport coefficients, in the units of ZENO's numbers (see the module's docstring).
_FRICTION = ("friction_coefficient", "friction_coefficient", (), "g/s")
_SEDIMENTATION = ("sedimentation_coefficient", "sedimentation_coefficient", (), "S")
_DIFFUSION = ("diffusion_coefficient", "diffusion_coefficient", (), "cm^2/s")
_MASS_VISCOSITY = ("mass_intrinsic_viscosity", "intrinsic_viscosity_mass_units", (), "cm^3/g")

# Keywords ZenoWrapper takes through **kwargs (its tests pass them) and ignores.
_IGNORED = ("seed_interior", "max_run_time_interior", "launch_radius_interior")

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
        n = self.values.shape[0]
        shape = self.values.shape[1:]
        if n == 0:
            # A run of no frames: nothing to average, said by NaN, without numpy's warnings.
            nan = np.full(shape, np.nan) if shape else np.nan
            self.overall_value = self.overall_variance = self.overall_sem = self.overall_statistical_inefficiency = nan
            return
        self.overall_value = np.nanmean(self.values, axis=0)
        self.overall_variance = np.nansum(self.variance, axis=0)
        flat = self.values.reshape(n, -1)
        g = np.array([_trajwalk.statistical_inefficiency(flat[:, k].tolist()) or np.nan for k in range(flat.shape[1])])
        var = np.var(flat, axis=0, ddof=1) if n > 1 else np.full(flat.shape[1], np.nan)
        sem = np.sqrt(var * np.where(np.isnan(g), 1.0, g) / n)
        self.overall_statistical_inefficiency = g.reshape(shape) if shape else float(g[0])
        self.overall_sem = sem.reshape(shape) if shape else float(sem[0])


class ZenoWrapper(TrajWalk):
    """ZenoWrapper's analysis, computed by trajwalk. See the module's docstring for what
    differs (units of the transport coefficients, ``overall_sem``, seeds, unwrapping).

    Beyond ZenoWrapper's keywords: ``unwrap`` (default True: molecules split across a
    periodic box are made whole) and trajwalk's options (``strategy``, ``threads``, ...).
    After a run, ``trajwalk_results`` holds the frames' :class:`trajwalk.Results` (frames,
    times, plan, summary), outside ``results`` so that ``results`` is ZenoWrapper's.
    """

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
        zenowrappers = [p for p in inspect.signature(ZenoWrapper.__init__).parameters if p not in ("self", "kwargs")]
        check_options(kwargs, set(_trajwalk.option_names(False)) | {"unwrap", "chunk_frames"} | set(_IGNORED), zenowrappers)
        ignored = [k for k in _IGNORED if k in kwargs]
        if ignored:
            warnings.warn(
                f"{', '.join(ignored)} {'has' if len(ignored) == 1 else 'have'} no effect, as in ZenoWrapper "
                "(the walks and the interior samples share seed, max_run_time and launch_radius)",
                stacklevel=2,
            )
        kwargs = {k: v for k, v in kwargs.items() if k not in _IGNORED}
        unwrap = kwargs.pop("unwrap", True)
        if type_radii is None:
            type_radii = {}
        types = list(atom_group.types)
        if len(type_radii) == 0:
            raise ValueError(f"Please specify radii for atom/bead types: {_counted(types)}")
        missing_radii = [x for x in types if x not in type_radii]
        if missing_radii:
            raise ValueError(f"Missing radii for atom/bead types: {_counted(missing_radii)}")
        if max_run_time is not None:
            warnings.warn("trajwalk does not honour max_run_time: a time limit would make the numbers depend on the machine", stacklevel=2)
        by_type = {t: type_radius(type_radii, t) * size_scaling_factor for t in set(types)}
        self.type_radii = np.array([by_type[t] for t in types])
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
        # ZenoWrapper's verbose prints a line per frame and leaves the progress bar to
        # run(verbose=True), as MDAnalysis's AnalysisBase never sees it there.
        super().__init__(
            atom_group, self.type_radii, unwrap=unwrap, length_unit=_LENGTH_UNITS.get(length_units, "L"), verbose=False, **options, **kwargs
        )
        self._frame_lines = bool(verbose)
        self.trajwalk_results = None

    def _options_for(self, backend):
        if backend not in (None, "trajwalk") and self._num_threads == 1 and "threads" not in self._options:
            # ZenoWrapper's default on its backends: one thread per frame.
            return {"threads": 1}
        return super()._options_for(backend)

    def _names(self):
        names = list(_ALWAYS)
        if self.viscosity is not None:
            names.append(_FRICTION)
            if self.mass is not None and self.buoyancy_factor is not None:
                names.append(_SEDIMENTATION)
            if self.temperature is not None:
                names.append(_DIFFUSION)
        if self.mass is not None:
            names.append(_MASS_VISCOSITY)
        return names

    def _conclude(self):
        results = self._gather()
        self.trajwalk_results = results
        n = 0 if results is None else len(results)
        for key in list(self.results.keys()):
            del self.results[key]
        unknown = {}
        for zeno_name, name, shape, unit in self._names():
            if unit is not None and unit.startswith("L"):
                unit = self.length_units + unit[1:]
            prop = Property(zeno_name, (n,) + shape, unit)
            if n:
                q = results.quantities.get(name)
                if q is None:
                    raise ValueError(f"trajwalk computed no {name} for {zeno_name}: are its conditions complete?")
                model = 0.0 if q.model_std is None else q.model_std**2
                values, variance = q.value.astype(float), q.std**2 + model
                # What a frame cannot give (no interior sample inside the body: no gyration
                # tensor, q_eta, [eta]) is NaN or inf; ZENO reports it as 0 and warns.
                bad = ~np.isfinite(values) | ~np.isfinite(variance)
                for k in np.flatnonzero(bad.reshape(n, -1).any(axis=1)):
                    unknown.setdefault(int(results.frames[k]), []).append(zeno_name)
                prop.values = np.where(bad, 0.0, values)
                prop.variance = np.where(bad, 0.0, variance)
            prop.compute_total_values()
            self.results[zeno_name] = prop
        if unknown:
            kinds = {}
            for frame, names in unknown.items():
                kinds.setdefault(tuple(names), []).append(frame)
            for names, frames in kinds.items():
                which = f"frame {frames[0]}" if len(frames) == 1 else f"frames {_frame_list(frames)}"
                warnings.warn(
                    f"{which}: {', '.join(names)} could not be computed (no interior sample fell inside the body: "
                    "raise n_interior_samples) and are reported as 0, as ZENO does",
                    TrajwalkWarning,
                    stacklevel=caller_level(),
                )


def _counted(types) -> str:
    """Atom types for a message: each once, in order of appearance, with its count."""
    counts = {}
    for t in types:
        counts[t] = counts.get(t, 0) + 1
    return ", ".join(f"{t} ({c} atom{'s' if c > 1 else ''})" for t, c in counts.items())
