"""trajwalk: ZENO's hydrodynamic and shape observables (capacitance, hydrodynamic radius,
polarizability, intrinsic viscosity, volume, gyration tensor, transport coefficients) by
walk-on-spheres, for every frame of a trajectory, bit-for-bit reproducible.

- :func:`compute` takes coordinates (one body, N x 3, or frames, F x N x 3) and radii.
- :func:`run` runs a file with every option of the command line's ``trajwalk run``.
- :mod:`trajwalk.mda` is an MDAnalysis analysis class; :mod:`trajwalk.compat` holds a
  drop-in ``ZenoWrapper``.

Every frame's random numbers are keyed by its frame index and the seed, so a frame gives the
same bits whichever backend, worker count or chunking computes it. The computation runs
with the GIL released; Ctrl-C stops it once the frames in flight finish.
"""

from __future__ import annotations

import difflib
import json
import re
import warnings
from dataclasses import dataclass

import numpy as np

from . import _trajwalk

__all__ = ["compute", "run", "Results", "Quantity", "bondi_radii", "TrajwalkWarning"]


class TrajwalkWarning(UserWarning):
    """What the library says of frames (``Results.warnings``), issued once per kind with the
    frames it concerns."""


def check_options(options, allowed, candidates=()) -> None:
    """Refuses an option that is not in ``allowed`` as Python refuses an unexpected keyword
    (TypeError), naming the close ones among ``allowed`` and ``candidates`` (the caller's
    other keywords), so that ``n_walk=`` fails at once, not after the work or never."""
    for key in options:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, sorted(set(allowed) | set(candidates)), n=3, cutoff=0.6)
        hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise TypeError(f"unexpected keyword argument {key!r}{hint}")


def _real(name, value, dtype=float) -> np.ndarray:
    """``value`` as a real array: complex numbers are refused, not silently cut to their real
    parts (numpy's conversion drops the imaginary part with only a warning)."""
    a = np.asarray(value)
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real numbers, not {a.dtype}")
    if a.dtype == object or a.dtype.kind in "USb":
        # numpy would read None as NaN, "1.5" as 1.5 and fail on "abc" with float()'s words.
        bad = [x for x in a.ravel() if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating))]
        if bad:
            raise TypeError(f"{name} must be numbers, not {(bad[0].item() if isinstance(bad[0], np.generic) else bad[0])!r}")
    return a if dtype is None else a.astype(dtype, copy=False)


def frame_warnings(results: Results) -> None:
    """Issues ``results.warnings`` through Python's ``warnings`` module: one warning per kind
    (the message with its numbers left out), naming the frames it concerns; the numbers
    shown are the first such frame's."""
    kinds: dict[str, list] = {}
    for frame, messages in zip(results.frames.tolist(), results.warnings):
        for message in messages:
            kinds.setdefault(re.sub(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?", "#", message), []).append((frame, message))
    for found in kinds.values():
        frames = [f for f, _ in found]
        if len(frames) == 1:
            text = f"frame {frames[0]}: {found[0][1]}"
        else:
            text = f"frames {_frame_list(frames)}: {found[0][1]} (the numbers are frame {frames[0]}'s)"
        warnings.warn(text, TrajwalkWarning, stacklevel=caller_level())


def caller_level() -> int:
    """The ``stacklevel`` of the first frame outside trajwalk and MDAnalysis, for a warning
    issued by the function that calls this: the user's line, whichever backend ran."""
    import sys

    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("trajwalk", "MDAnalysis"):
        frame, level = frame.f_back, level + 1
    return level


def _frame_list(frames, most=10) -> str:
    """Frame indices for a message: all of them, or the first ``most`` and how many more."""
    shown = ", ".join(str(f) for f in frames[:most])
    return shown if len(frames) <= most else f"{shown} and {len(frames) - most} more ({len(frames)} frames)"
__version__ = _trajwalk.__version__

_SHAPES = {"scalar": (), "vector": (3,), "tensor": (3, 3)}


@dataclass
class Quantity:
    """One observable over the frames: ``value`` and its Monte Carlo ``std`` (shape
    ``(frames,)``, ``(frames, 3)`` for eigenvalues or ``(frames, 3, 3)`` for tensors), and
    ``model_std``, ZENO's fixed model uncertainty (1% on Rh, 1.5% on q_eta, carried into
    what is proportional to them), kept apart from the Monte Carlo std; None where ZENO
    imposes none."""

    name: str
    value: np.ndarray
    std: np.ndarray
    model_std: np.ndarray | None
    unit: str


class Results:
    """Every frame's observables as numpy arrays.

    ``frames`` are the frame indices (the keys of the random streams), ``times`` the frames'
    times (NaN where the input has none), ``quantities`` a dict of :class:`Quantity` by name,
    also reachable as attributes (``results.hydrodynamic_radius.value``). ``plan`` is how
    the frames were run, ``summary`` the means over frames with their standard errors
    (corrected for correlation between frames), ``notes`` what the library had to say about
    the options.
    """

    def __init__(self, raw: dict):
        n = raw["n_frames"]
        self.frames = np.asarray(raw["frames"], dtype=np.int64)
        self.times = np.asarray(raw["times"], dtype=float)
        self.time_unit = raw["time_unit"]
        self.length_unit = raw["length_unit"]
        self.walks = np.asarray(raw["walks"], dtype=np.int64)
        self.interior_samples = np.asarray(raw["interior_samples"], dtype=np.int64)
        self.converged = np.asarray(raw["converged"], dtype=bool)
        self.warnings = list(raw["warnings"])
        self.quantities: dict[str, Quantity] = {}
        for name, q in raw["quantities"].items():
            shape = (n,) + _SHAPES[q["shape"]]
            model = q["model_std"]
            self.quantities[name] = Quantity(
                name,
                np.asarray(q["value"]).reshape(shape),
                np.asarray(q["std"]).reshape(shape),
                None if model is None else np.asarray(model).reshape(shape),
                q["unit"],
            )
        self.plan = None if raw["plan"] is None else json.loads(raw["plan"])
        self.summary = json.loads(raw["summary"])
        self.parameters = json.loads(raw["parameters"])
        self.notes = list(raw["notes"])
        # The plan itself, to run later chunks of the same frames without profiling again;
        # not pickled (it is only an accelerator).
        self._plan = raw.get("plan_object")

    def __getattr__(self, name):
        quantities = self.__dict__.get("quantities", {})
        if name in quantities:
            return quantities[name]
        raise AttributeError(name)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_plan"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __len__(self):
        return len(self.frames)

    def __repr__(self):
        return f"<trajwalk.Results: {len(self)} frame(s), {len(self.quantities)} quantities>"

    @classmethod
    def concatenate(cls, parts: list[Results]) -> Results:
        """The frames of several results, in the order given (chunks of one trajectory).
        The plan, notes and parameters are the first part's; the summary is recomputed."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValueError("no frames to concatenate")
        out = cls.__new__(cls)
        first = parts[0]
        out.__dict__.update(first.__dict__)
        for attr in ("frames", "times", "walks", "interior_samples", "converged"):
            setattr(out, attr, np.concatenate([getattr(p, attr) for p in parts]))
        out.warnings = [w for p in parts for w in p.warnings]
        out.quantities = {}
        for name, q in first.quantities.items():
            qs = [p.quantities[name] for p in parts]
            out.quantities[name] = Quantity(
                name,
                np.concatenate([x.value for x in qs]),
                np.concatenate([x.std for x in qs]),
                None if q.model_std is None else np.concatenate([x.model_std for x in qs]),
                q.unit,
            )
        out.summary = summarize(out)
        return out

    def to_dataframe(self):
        """One row per frame, indexed by frame: every scalar as ``<name>`` and
        ``<name>_std`` (and ``<name>_model_std``), eigenvalues as ``<name>_1.._3`` and tensors
        as ``<name>_xx..`` (the CSV report's columns). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from e
        columns = {"time": self.times, "walks": self.walks, "interior_samples": self.interior_samples, "converged": self.converged}
        suffixes = {1: [""], 3: ["_1", "_2", "_3"], 9: ["_xx", "_xy", "_xz", "_yx", "_yy", "_yz", "_zx", "_zy", "_zz"]}
        for name, q in self.quantities.items():
            n = len(self)
            for part, array in (("", q.value), ("_std", q.std), ("_model_std", q.model_std)):
                if array is None:
                    continue
                flat = array.reshape(n, -1)
                for k, suffix in enumerate(suffixes[flat.shape[1]]):
                    columns[f"{name}{suffix}{part}"] = flat[:, k]
        return pd.DataFrame(columns, index=pd.Index(self.frames, name="frame"))


def summarize(results: Results) -> dict:
    """Means over frames of the scalar observables with the naive standard error and the one
    corrected for correlation between frames (the library's statistical inefficiency)."""
    out = {}
    for name, q in results.quantities.items():
        if q.value.ndim != 1:
            continue
        x = q.value[np.isfinite(q.value)]
        n = len(x)
        g = _trajwalk.statistical_inefficiency(x.tolist()) if n > 1 else None
        se = float(np.sqrt(np.var(x, ddof=1) / n)) if n > 1 else None
        out[name] = {
            "frames": n,
            "mean": float(np.mean(x)) if n else None,
            "standard_error": se,
            "statistical_inefficiency": g,
            "standard_error_correlated": None if g is None else float(np.sqrt(np.var(x, ddof=1) * g / n)),
            "unit": q.unit,
        }
    return out


def bondi_radii(elements) -> np.ndarray:
    """The library's Bondi radius (Angstrom) of each element symbol; NaN where none."""
    return np.asarray(_trajwalk.bondi_radii([None if e is None else str(e) for e in elements]))


def _frames_array(positions) -> np.ndarray:
    a = _real("positions", positions, None)
    if a.dtype not in (np.float32, np.float64):
        if not np.issubdtype(a.dtype, np.number):
            raise TypeError(f"positions must be numbers, not {a.dtype}")
        a = a.astype(np.float64)
    if a.ndim not in (2, 3) or a.shape[-1] != 3:
        raise ValueError(f"positions must be atoms x 3 or frames x atoms x 3, got shape {a.shape}")
    if a.ndim == 2:
        a = a[np.newaxis]
    return np.ascontiguousarray(a)


def compute(
    positions,
    radii=None,
    *,
    elements=None,
    frames=None,
    times=None,
    length_unit: str = "A",
    time_unit: str | None = None,
    plan=None,
    cells=None,
    residues=None,
    **options,
) -> Results:
    """Every observable of one body (``positions`` N x 3) or of a stack of frames
    (F x N x 3, float32 or float64), with its std.

    ``radii``: one per atom, or one number for every atom; without it, Bondi radii by
    ``elements``. ``frames``: each frame's index in its trajectory (default 0, 1, ...), which
    keys its random numbers, so a frame computed alone or in any chunk gives the same bits.
    ``length_unit`` is the coordinates' unit (A, nm, ...). Options (the command line's, in
    Python's words): ``n_walks`` (default 1e6), ``n_interior_samples`` (1e6), ``seed`` (0),
    ``max_rsd_capacitance``, ``max_rsd_polarizability``, ``max_rsd_volume`` (percent),
    ``estimator`` ("hit-points", the default, or "zeno": ZENO's own estimators),
    ``temperature`` (K, or text such as "20C"), ``viscosity`` (text with a unit, "1.002cp",
    or "water"), ``mass`` (Da, or text, or "auto" with ``elements``), ``buoyancy_factor``,
    ``launch`` ("tight" or "zeno"), ``launch_radius``, ``skin_thickness``, ``radius_scale``,
    ``radius_add``, ``strategy`` (auto, serial, frames, threads, hybrid, gpu), ``workers``,
    ``threads``, ``cores``, ``gpu_adapter``, ``gpu_batch``, ``max_memory`` (bytes),
    ``verify``, ``progress``. ``plan``: ``results._plan`` of an earlier call on frames like
    these, to skip profiling. ``cells``: each frame's periodic cell (F x 3 x 3, rows are the
    vectors, all zero for none), so that molecules split across it are made whole (unless
    ``unwrap=False``), following ``residues``: (atom names, residue names, residue numbers,
    segment ids), whose consecutive residues of one segment are one polymer.

    What the library says of frames (``Results.warnings``, a body touching its periodic
    images) is also issued as a :class:`TrajwalkWarning`, one per kind, naming the frames.
    A misspelt option is refused (TypeError) with the close names.
    """
    results = _compute(
        positions, radii, elements=elements, frames=frames, times=times, length_unit=length_unit, time_unit=time_unit,
        plan=plan, cells=cells, residues=residues, **options,
    )
    frame_warnings(results)
    return results


#: compute()'s own keywords, besides the options: the close names of a misspelt one.
_COMPUTE_KEYWORDS = ("radii", "elements", "frames", "times", "length_unit", "time_unit", "plan", "cells", "residues")


def _compute(
    positions, radii=None, *, elements=None, frames=None, times=None, length_unit="A", time_unit=None, plan=None, cells=None,
    residues=None, **options,
) -> Results:
    """compute() without issuing the frames' warnings: for callers that issue them once for
    all their chunks (trajwalk.mda)."""
    check_options(options, _trajwalk.option_names(False), _COMPUTE_KEYWORDS)
    a = _frames_array(positions)
    n = a.shape[0]
    keys = list(range(n)) if frames is None else [int(f) for f in np.asarray(frames).ravel()]
    if len(keys) != n:
        raise ValueError(f"{len(keys)} frame indices given for {n} frames")
    negative = [k for k in keys if k < 0]
    if negative:
        raise ValueError(f"frame indices must be from 0 (the first frame), got {negative[0]}")
    if radii is not None and not np.isscalar(radii):
        radii = [float(r) for r in _real("radii", radii).ravel()]
    elif radii is not None:
        radii = float(_real("radii", radii))
    elements = None if elements is None else [None if e is None or e == "" else str(e) for e in elements]
    times_list = None if times is None else [float(t) for t in _real("times", times).ravel()]
    if cells is not None:
        cells = np.ascontiguousarray(_real("cells", cells, np.float64).reshape(n, 3, 3))
    if residues is not None:
        names, resnames, resids, segids = residues
        residues = ([str(x) for x in names], [str(x) for x in resnames], [int(x) for x in resids], [str(x) for x in segids])
    raw = _trajwalk.compute(a, keys, radii, elements, times_list, length_unit, time_unit, plan, options, cells, residues)
    return Results(raw)


def run(path, **options) -> Results:
    """The command line's ``trajwalk run`` on a file (.h5md, .pdb, .xtc, ... with
    ``topology``), or on a list of files read as one trajectory in order, as
    ``trajwalk run md1.xtc md2.xtc`` reads them, returning the results; every option is the command line's with ``-`` spelled ``_`` and walks named
    ``n_walks``/``n_interior_samples``: ``select``, ``radii`` (a table name, a radii file
    or one radius), ``radii_key``, ``radius_scale``, ``radius_add``, ``start``, ``stop``,
    ``step``, ``frames``, ``unwrap`` (or ``no_unwrap``), ``radius`` (one for every atom),
    ``length_unit``, ``topology``, ``group``, ``runs`` (or ``run``), ``trajs`` (or ``traj``),
    the sampling and condition options of :func:`compute`, ``checkpoint`` and
    ``fresh``, ``out`` and ``format`` (a JSON, CSV, table or H5MD report), ``plot``; the
    command line's ``--write-back``, ``--quiet`` and ``--input-file`` have no Python
    counterpart (``progress=True`` shows the bar). Warnings as :func:`compute` issues them."""
    import os

    check_options(options, _trajwalk.option_names(True))
    paths = [os.fspath(p) for p in path] if isinstance(path, (list, tuple)) else [os.fspath(path)]
    results = Results(_trajwalk.run(paths, options))
    frame_warnings(results)
    return results
