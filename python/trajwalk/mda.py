"""trajwalk as an MDAnalysis analysis: :class:`TrajWalk` computes every observable of an
AtomGroup in every frame, through any trajectory format MDAnalysis reads.

Backends: the default, ``backend="trajwalk"`` (or none named), reads the frames in one
process into float32 chunk buffers and hands each chunk to trajwalk's planner, which runs
the frames on threads, frames in parallel or the GPU; it keeps one Universe in memory and
shows a progress bar with ``verbose=True``. MDAnalysis's own ``serial``,
``multiprocessing`` and ``dask`` backends work too (each worker runs its frames one thread
each unless ``threads`` is given). Every frame's random numbers are keyed by its frame index
(``ts.frame``) and the seed, so the arrays are the same bits whichever backend, worker count
or split computes them.

Fork safety: trajwalk starts its threads (and opens a GPU) only inside a computation and
ends them before returning, and nothing is started at import, so MDAnalysis's
multiprocessing backend can fork after any earlier computation.
"""

from __future__ import annotations

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase
from MDAnalysis.analysis.results import ResultsGroup
from MDAnalysis.lib.log import ProgressBar

from . import Results, _compute, _trajwalk, bondi_radii, check_options, frame_warnings

#: Frames per chunk of the trajwalk backend: large enough that the planner's frames run in
#: parallel with little idle time at a chunk's end, small enough that a 20,000-atom chunk
#: (15 MB in float32) stays small.
CHUNK_FRAMES = 64


def per_atom_radii(atomgroup, radii):
    """Radii as trajwalk takes them: one number for every atom, one per atom, a dict by atom
    type (as ZenoWrapper's ``type_radii``), or None for Bondi radii by element."""
    if radii is None:
        elements = _elements(atomgroup)
        if elements is None:
            raise ValueError(
                "the atoms have no elements (MDAnalysis guesses none for some formats, GRO among them): give radii "
                "(one per atom, a dict by atom type, or one number), or guess the elements first with "
                "u.guess_TopologyAttrs(to_guess=['elements'])"
            )
        r = bondi_radii(elements)
        missing = sorted({str(e) for e, x in zip(elements, r) if not np.isfinite(x)})
        if missing:
            raise ValueError(f"no Bondi radius for the elements {', '.join(missing)}: give radii")
        return r
    if isinstance(radii, dict):
        missing = sorted({t for t in atomgroup.types if t not in radii})
        if missing:
            raise ValueError(f"no radius for the atom types {', '.join(missing)}")
        by_type = {t: type_radius(radii, t) for t in set(atomgroup.types)}
        return np.array([by_type[t] for t in atomgroup.types])
    if np.isscalar(radii):
        return float(radii)
    r = np.asarray(radii, dtype=float).ravel()
    if len(r) != len(atomgroup):
        raise ValueError(f"{len(r)} radii given for {len(atomgroup)} atoms")
    return r


def type_radius(radii: dict, atom_type) -> float:
    """The radius ``radii`` gives ``atom_type``, refused with the type named when it is not
    a real number (None, text, a complex number)."""
    value = radii[atom_type]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"the radius of atom type {atom_type!r} must be a number, not {value!r}")
    return float(value)


def _residues(atomgroup):
    """(atom names, residue names, residue numbers, segment ids) for the library's unwrap, or
    None without residues. Names and segment ids a topology lacks (a Universe built in
    memory) are empty: one segment, whose consecutive residues are one polymer."""

    def attribute(name):
        try:
            return list(getattr(atomgroup, name))
        except Exception:  # MDAnalysis raises NoDataError without the attribute
            return None

    resnames, resids = attribute("resnames"), attribute("resids")
    if resnames is None or resids is None:
        return None
    n = len(atomgroup)
    return (attribute("names") or [""] * n, resnames, resids, attribute("segids") or [""] * n)


def _elements(atomgroup):
    try:
        elements = [str(e) for e in atomgroup.elements]
    except Exception:  # MDAnalysis raises NoDataError without the attribute
        return None
    return None if all(e == "" for e in elements) else elements


class TrajWalk(AnalysisBase):
    """Every trajwalk observable of ``atomgroup`` in every frame analysed.

    ``radii``: None (Bondi radii by element), a dict by atom type, one per atom, or one
    number (Angstrom). Options are :func:`trajwalk.compute`'s (``n_walks``,
    ``n_interior_samples``, ``seed``, ``temperature``, ``viscosity``, ``mass``, ...).

    After :meth:`run`, ``results.trajwalk`` holds the :class:`trajwalk.Results` and every
    quantity is also ``results.<name>`` (a :class:`trajwalk.Quantity` with ``value``,
    ``std`` and ``model_std`` arrays over the frames analysed). The frames' warnings are
    issued once per run as :class:`trajwalk.TrajwalkWarning`. A misspelt option is refused
    here, with the close names; what a backend adds to the options (one thread per worker)
    holds for its run only.
    """

    _analysis_algorithm_is_parallelizable = True

    @classmethod
    def get_supported_backends(cls):
        return ("serial", "multiprocessing", "dask")

    def __init__(self, atomgroup, radii=None, *, unwrap=True, length_unit="A", chunk_frames=CHUNK_FRAMES, verbose=False, **options):
        check_options(options, _trajwalk.option_names(False), ("radii", "unwrap", "length_unit", "chunk_frames", "verbose"))
        super().__init__(atomgroup.universe.trajectory, verbose=verbose)
        self.atomgroup = atomgroup
        self._radii = per_atom_radii(atomgroup, radii)
        self._element_list = _elements(atomgroup)
        self._length_unit = length_unit
        self._chunk_frames = max(1, int(chunk_frames))
        self._options = dict(options)
        # What one run adds to the options (a parallel backend's one thread per worker):
        # set by each run, so that nothing of a run carries into the next.
        self._run_options = {}
        # Whether to print "Analyzing frame N" before each frame (ZenoWrapper's verbose).
        self._frame_lines = False
        # Frames with a periodic box are made whole by the library (unwrap=False: used as
        # they are), following the residues: consecutive residues of a segment are one chain.
        self._unwrap = unwrap
        self._residues = _residues(atomgroup) if unwrap else None
        if not unwrap:
            self._options["unwrap"] = False

    def run(
        self,
        start=None,
        stop=None,
        step=None,
        frames=None,
        verbose=None,
        *,
        n_workers=None,
        n_parts=None,
        backend=None,
        unsupported_backend=False,
        progressbar_kwargs=None,
    ):
        """MDAnalysis's ``run``, with ``backend="trajwalk"`` (the default when none is named)
        besides MDAnalysis's own."""
        self._run_options = self._options_for(backend)
        if backend is None or backend == "trajwalk":
            if n_workers is not None or n_parts is not None:
                raise ValueError("the trajwalk backend runs in one process: leave n_workers and n_parts unset (trajwalk's planner uses the cores)")
            return self._run_chunks(start, stop, step, frames, verbose, progressbar_kwargs or {})
        return super().run(
            start=start,
            stop=stop,
            step=step,
            frames=frames,
            verbose=verbose,
            n_workers=n_workers,
            n_parts=n_parts,
            backend=backend,
            unsupported_backend=unsupported_backend,
            progressbar_kwargs=progressbar_kwargs,
        )

    def _cell(self, ts):
        if not self._unwrap or ts.dimensions is None:
            return np.zeros((3, 3))
        return np.asarray(ts.triclinic_dimensions, dtype=np.float64)

    def _options_for(self, backend):
        """What a run on ``backend`` adds to the options: a worker of a parallel backend is
        one of several processes on the cores, so one thread each and no GPU probe in every
        process, unless the options say how to run."""
        if backend in (None, "trajwalk", "serial") or "threads" in self._options or "strategy" in self._options:
            return {}
        return {"strategy": "serial"}

    def _compute_frames(self, positions, keys, times, cells):
        options = {**self._options, **self._run_options}
        results = _compute(
            positions,
            self._radii,
            elements=self._element_list,
            frames=keys,
            times=times,
            length_unit=self._length_unit,
            time_unit="ps",
            plan=self._plan,
            cells=cells if self._unwrap else None,
            residues=self._residues,
            **options,
        )
        self._plan = results._plan
        return results

    def __getstate__(self):
        # A worker of a parallel backend is pickled back to the parent; the plan is only
        # an accelerator of the worker's own frames.
        state = dict(self.__dict__)
        state["_plan"] = None
        return state

    def _prepare(self):
        self._plan = None
        self.results._parts = []

    def _single_frame(self):
        if self._frame_lines:
            print(f"Analyzing frame {self._frame_index}")
        positions = self.atomgroup.positions
        self.results._parts.append(self._compute_frames(positions, [self._ts.frame], [self._ts.time], [self._cell(self._ts)]))

    def _get_aggregator(self):
        return ResultsGroup(lookup={"_parts": ResultsGroup.flatten_sequence})

    def _run_chunks(self, start, stop, step, frames, verbose, progressbar_kwargs):
        verbose = getattr(self, "_verbose", False) if verbose is None else verbose
        self._setup_frames(self._trajectory, start=start, stop=stop, step=step, frames=frames)
        self._prepare()
        n_atoms = len(self.atomgroup)
        size = min(self._chunk_frames, max(self.n_frames, 1))
        buffer = np.empty((size, n_atoms, 3), dtype=np.float32)
        cells = np.zeros((size, 3, 3))
        keys, times = [], []
        bar = ProgressBar(total=self.n_frames, verbose=verbose, **progressbar_kwargs)

        def flush():
            k = len(keys)
            if k:
                self.results._parts.append(self._compute_frames(buffer[:k], keys, times, cells[:k]))
                bar.update(k)
                keys.clear()
                times.clear()

        try:
            for i, ts in enumerate(self._sliced_trajectory):
                if self._frame_lines:
                    print(f"Analyzing frame {i}")
                self.frames[i] = ts.frame
                self.times[i] = ts.time
                buffer[len(keys)] = self.atomgroup.positions
                cells[len(keys)] = self._cell(ts)
                keys.append(ts.frame)
                times.append(ts.time)
                if len(keys) == size:
                    flush()
            flush()
        finally:
            bar.close()
        self._conclude()
        return self

    def _gather(self):
        """The frames' :class:`trajwalk.Results` from the parts the run made (None without
        frames), with their warnings issued once for the whole run."""
        parts = self.results.pop("_parts")
        if not parts:
            return None
        results = Results.concatenate(parts) if len(parts) > 1 else parts[0]
        frame_warnings(results)
        return results

    def _conclude(self):
        results = self._gather()
        if results is None:
            return
        self.results.trajwalk = results
        for name, q in results.quantities.items():
            self.results[name] = q
