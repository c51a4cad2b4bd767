"""trajwalk.compute and trajwalk.run: analytic bodies, frame keys, errors, the GIL and
Ctrl-C, and run() against the command line."""

import math
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import trajwalk
from conftest import ROOT, cli_json, z_ok

ZETA3 = 1.2020569031595942


def test_a_sphere_has_its_analytic_values():
    r = trajwalk.compute([[0.0, 0.0, 0.0]], 2.0, n_walks=20000, n_interior_samples=200000)
    assert len(r) == 1 and r.frames.tolist() == [0]
    for name, ref in [
        ("capacitance", 2.0),
        ("hydrodynamic_radius", 2.0),
        ("volume", 4 * math.pi * 8 / 3),
        ("intrinsic_conductivity", 3.0),
        ("radius_of_gyration", 2.0 * math.sqrt(3 / 5)),
    ]:
        q = r.quantities[name]
        assert z_ok(q.value, q.std, ref), (name, q.value, q.std)
    assert r.polarizability_eigenvalues.value.shape == (1, 3)
    assert z_ok(r.polarizability_eigenvalues.value, r.polarizability_eigenvalues.std, 4 * math.pi * 8)
    assert r.gyration_tensor.value.shape == (1, 3, 3)
    np.testing.assert_allclose(r.hydrodynamic_radius.model_std, 0.01 * r.hydrodynamic_radius.value)
    assert r.volume.model_std is None


def test_two_touching_spheres_have_their_analytic_values():
    d = 1 / math.sqrt(3)
    r = trajwalk.compute([[d, d, d], [-d, -d, -d]], [1.0, 1.0], n_walks=100000, n_interior_samples=100000, seed=3)
    for name, ref in [
        ("capacitance", 2 * math.log(2)),
        ("mean_polarizability", 28 * math.pi * ZETA3 / 3),
        ("volume", 8 * math.pi / 3),
        ("intrinsic_conductivity", 3.5 * ZETA3),
    ]:
        q = r.quantities[name]
        assert z_ok(q.value, q.std, ref), (name, q.value, q.std)
    e = r.polarizability_eigenvalues
    assert z_ok(e.value, e.std, [6 * math.pi * ZETA3, 6 * math.pi * ZETA3, 16 * math.pi * ZETA3])
    g = r.gyration_eigenvalues
    assert z_ok(g.value, g.std, [0.2, 0.2, 1.2])


def frames(n=4):
    rng = np.random.default_rng(7)
    return (np.round(rng.normal(scale=1.5, size=(n, 5, 3)) * 64) / 64).astype(np.float32)


def test_a_frame_gives_the_same_bits_alone_in_any_chunk_and_precision():
    xyz = frames()
    options = dict(n_walks=3000, n_interior_samples=3000, seed=5)
    together = trajwalk.compute(xyz, 1.2, frames=[10, 11, 12, 13], **options)
    alone = trajwalk.compute(xyz[2], 1.2, frames=[12], strategy="serial", **options)
    as_f64 = trajwalk.compute(xyz[2:].astype(np.float64), 1.2, frames=[12, 13], strategy="threads", threads=2, **options)
    for name, q in together.quantities.items():
        assert np.array_equal(q.value[2], alone.quantities[name].value[0]), name
        assert np.array_equal(q.std[2:], as_f64.quantities[name].std), name
    # Another key, other numbers.
    other = trajwalk.compute(xyz[2], 1.2, frames=[0], **options)
    assert other.capacitance.value[0] != alone.capacitance.value[0]


def test_results_make_a_dataframe():
    r = trajwalk.compute(frames(2), 1.2, n_walks=500, n_interior_samples=500, temperature="20C", viscosity="water")
    df = r.to_dataframe()
    assert df.index.tolist() == [0, 1]
    for column in ["hydrodynamic_radius", "hydrodynamic_radius_std", "hydrodynamic_radius_model_std", "gyration_tensor_xy", "polarizability_eigenvalues_3", "diffusion_coefficient"]:
        assert column in df.columns, column
    assert r.diffusion_coefficient.unit == "cm^2/s"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(n_walks=0), ValueError, "invalid option: n_walks must be at least 1"),
        (dict(n_interior_samples=5e9), ValueError, "invalid option: n_interior_samples 5000000000 exceeds the limit of 4294967295 per frame"),
        (dict(max_rsd_volume=-1.0), ValueError, "invalid option: max_rsd_volume must be a positive percentage, got -1"),
        (dict(threads=0), ValueError, "invalid option: threads must be at least 1"),
        (dict(radius_scale=0.0), ValueError, "invalid option: radius_scale must be a positive number, got 0"),
        (dict(n_walks="many"), TypeError, "n_walks must be a whole number, not str"),
        (dict(bogus=1), TypeError, "unexpected keyword argument 'bogus'"),
        (dict(viscosity=1.0), TypeError, "viscosity needs its unit: give it as text, e.g. '1.002cp'"),
    ],
)
def test_bad_options_raise_with_the_library_message_in_python_words(kwargs, error, message):
    with pytest.raises(error) as e:
        trajwalk.compute([[0.0, 0.0, 0.0]], 1.0, **kwargs)
    assert str(e.value) == message


def test_bad_input_raises_value_and_file_errors():
    with pytest.raises(ValueError, match=r"^invalid option: 3 radii given for 2 atoms: give one per selected atom$"):
        trajwalk.compute([[0, 0, 0], [1, 0, 0]], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"^invalid option: the radius of atom 1 must be a positive number, got -1$"):
        trajwalk.compute([[0, 0, 0], [1, 0, 0]], [1.0, -1.0])
    with pytest.raises(ValueError, match=r"positions must be atoms x 3 or frames x atoms x 3, got shape \(1, 2\)"):
        trajwalk.compute([[0, 0]], 1.0)
    with pytest.raises(FileNotFoundError, match=r"^cannot read /nonexistent\.pdb: No such file or directory"):
        trajwalk.run("/nonexistent.pdb")
    with pytest.raises(ValueError, match=r"^invalid option: stop 9 is beyond the input's 1 frames$"):
        trajwalk.run(ROOT / "examples" / "two_spheres.bod", stop=9)


def test_run_gives_the_command_lines_bits():
    body = ROOT / "examples" / "two_spheres.bod"
    r = trajwalk.run(body, n_walks=4000, n_interior_samples=4000, seed=2)
    doc = cli_json(body, "--walks", 4000, "--interior", 4000, "--seed", 2)
    frame = doc["frames"][0]
    for name, q in r.quantities.items():
        assert np.array_equal(q.value.ravel(), np.ravel(frame[name]["value"])), name
        assert np.array_equal(q.std.ravel(), np.ravel(frame[name]["std"])), name
    # The .bod's TEMP and VISCOSITY give the transport coefficients.
    assert r.diffusion_coefficient.unit == "cm^2/s"
    assert r.length_unit == "nm"


def test_the_gil_is_released_while_computing():
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.01)

    t = threading.Thread(target=tick)
    t.start()
    try:
        trajwalk.compute(frames(8), 1.2, n_walks=40000, n_interior_samples=40000, strategy="serial")
    finally:
        stop.set()
        t.join()
    # A held GIL would have let the other thread tick at most a few times.
    assert len(ticks) > 10


def test_ctrl_c_stops_the_run_between_frames():
    script = (
        "import numpy as np, trajwalk, time\n"
        "xyz = np.random.default_rng(0).normal(size=(400, 30, 3))\n"
        "t = time.time()\n"
        "try:\n"
        "    trajwalk.compute(xyz, 1.0, n_walks=200000, n_interior_samples=1000, strategy='serial')\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    threading.Timer(1.5, lambda: p.send_signal(signal.SIGINT)).start()
    out, _ = p.communicate(timeout=120)
    assert out.strip() == "interrupted"


def test_no_thread_outlives_a_computation_so_a_fork_is_safe():
    # The fork of MDAnalysis's multiprocessing backend after a computation in the parent:
    # a child inheriting a thread pool or GPU device would hang, so it runs under a timeout.
    script = (
        "import os, numpy as np, trajwalk, threading\n"
        "tasks = lambda: sorted(open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task'))\n"
        "before = tasks()\n"
        "trajwalk.compute(np.zeros((4, 2, 3)) + [[0, 0, 0], [1, 0, 0]], 1.0, n_walks=20000, n_interior_samples=20000, strategy='threads', threads=2)\n"
        "import time; time.sleep(0.2)\n"
        "print(tasks() == before)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    trajwalk.compute(np.zeros((2, 1, 3)), 1.0, n_walks=5000, n_interior_samples=5000, strategy='threads', threads=2)\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(status)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["True", "0"], out


def test_the_readmes_python_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    import trajwalk
    r = trajwalk.run("examples/peptide.h5md", radii="examples/united-atom.radii", n_walks=2e4, n_interior_samples=2e4)
    assert r.hydrodynamic_radius.value.shape == (48,)
    assert r.summary["hydrodynamic_radius"]["frames"] == 48
    df = r.to_dataframe()
    assert len(df) == 48 and "hydrodynamic_radius_std" in df.columns


def test_a_panic_inside_a_call_is_an_exception_at_once():
    # A sphere too large for the library's f32 bounds: before, a panic of the run's thread
    # left the call waiting forever (at full CPU, deaf to Ctrl-C). Now it raises an Exception
    # (RuntimeError for a panic, or the input's ValueError once it is refused up front), and
    # pyo3's PanicException, a BaseException that `except Exception` misses, never reaches
    # the caller.
    script = (
        "import numpy as np, trajwalk\n"
        "try:\n"
        "    trajwalk.compute(np.zeros((1, 3)), 1e25, n_walks=100, n_interior_samples=100)\n"
        "    print('returned')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("RuntimeError", "ValueError"), out


def test_complex_numbers_are_refused_not_cut_to_their_real_parts():
    with pytest.raises(TypeError) as e:
        trajwalk.compute(np.zeros((2, 3), dtype=complex), 1.0)
    assert str(e.value) == "positions must be real numbers, not complex128"
    with pytest.raises(TypeError) as e:
        trajwalk.compute(np.zeros((2, 3)), [1.0, 1.0 + 1j])
    assert str(e.value) == "radii must be real numbers, not complex128"
    with pytest.raises(TypeError) as e:
        trajwalk.compute(np.zeros((2, 3)), 1.0, times=[1j])
    assert str(e.value) == "times must be real numbers, not complex128"
    # Not numbers at all: the value named, not float()'s bare complaint.
    with pytest.raises(TypeError) as e:
        trajwalk.compute(np.zeros((2, 3)), [1.0, None])
    assert str(e.value) == "radii must be numbers, not None"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: trajwalk.compute([[0.0, 0.0, 0.0]], 1.0, n_walk=10), "unexpected keyword argument 'n_walk': did you mean 'n_walks'?"),
        (lambda: trajwalk.compute([[0.0, 0.0, 0.0]], 1.0, element=["C"]), "unexpected keyword argument 'element': did you mean 'elements' or 'select'?"),
        (lambda: trajwalk.run(ROOT / "examples" / "two_spheres.bod", tempreature=300), "unexpected keyword argument 'tempreature': did you mean 'temperature'?"),
        (lambda: trajwalk.run(ROOT / "examples" / "two_spheres.bod", write_back=True), "unexpected keyword argument 'write_back'"),
    ],
)
def test_misspelt_options_are_refused_with_the_close_names(call, message):
    with pytest.raises(TypeError) as e:
        call()
    assert str(e.value) == message


def test_every_option_the_module_lists_is_one_it_takes():
    # The lists the Python layer checks names against are the Rust layer's: each listed name
    # reaches its own check (a wrong type is refused by name), none is "unexpected".
    from trajwalk import _trajwalk

    body = ROOT / "examples" / "two_spheres.bod"
    for file in (False, True):
        for name in _trajwalk.option_names(file):
            with pytest.raises((TypeError, ValueError)) as e:
                if file:
                    _trajwalk.run([str(body)], {name: object()})
                else:
                    _trajwalk.compute(np.zeros((1, 1, 3)), [0], 1.0, None, None, "A", None, None, {name: object()})
            assert "unexpected keyword" not in str(e.value), (file, name)
    with pytest.raises(TypeError, match=r"^unexpected keyword argument 'radius'$"):
        _trajwalk.compute(np.zeros((1, 1, 3)), [0], 1.0, None, None, "A", None, None, {"radius": 1.0})


def test_run_takes_the_command_lines_spellings_and_says_what_a_frame_index_is(written):
    body = written / "topology.pdb"
    options = dict(n_walks=2000, n_interior_samples=2000)
    by_radius = trajwalk.run(body, radius=1.5, **options)
    by_radii = trajwalk.run(body, radii=1.5, **options)
    np.testing.assert_array_equal(by_radius.capacitance.value, by_radii.capacitance.value)
    assert by_radius.capacitance.value[0] != trajwalk.run(body, **options).capacitance.value[0]
    with pytest.raises(ValueError) as e:
        trajwalk.run(body, radius=1.5, radii=1.5)
    assert str(e.value) == "invalid option: give radius (one for every atom) or radii, not both"
    with pytest.raises(ValueError) as e:
        trajwalk.run(body, frames=[0, -1])
    assert str(e.value) == "invalid option: frames must be frame indices from 0 (the first frame), got -1"
    with pytest.raises(TypeError) as e:
        trajwalk.run(body, frames=["a"])
    assert str(e.value) == "frames must be a list of frame indices (whole numbers from 0), got str"
    with pytest.raises(ValueError) as e:
        trajwalk.compute(np.zeros((1, 3)), 1.0, frames=[-1])
    assert str(e.value) == "frame indices must be from 0 (the first frame), got -1"


def test_frame_warnings_are_python_warnings_once_per_kind_with_the_frames():
    # A chain of 10.5 A in a box of 8 A touches its own images in every frame.
    chain = np.array([[1.5 * i, 0.0, 0.0] for i in range(8)])
    xyz = np.stack([chain, chain + [0.0, 0.1, 0.0], chain + [0.0, 0.2, 0.0]])
    cells = np.tile(np.eye(3) * 8.0, (3, 1, 1))
    with pytest.warns(trajwalk.TrajwalkWarning) as record:
        r = trajwalk.compute(xyz, 1.0, cells=cells, frames=[4, 5, 6], n_walks=500, n_interior_samples=500)
    message = (
        "the body overlaps its own periodic image after unwrapping (atom 0 and the image of atom 5, by 1.500 A): "
        "several molecules, or a selection that is not one?"
    )
    assert r.warnings == [[message]] * 3
    assert [str(w.message) for w in record] == [f"frames 4, 5, 6: {message} (the numbers are frame 4's)"]
    # Shown at the caller's line, not inside trajwalk.
    assert record[0].filename == __file__


def test_the_gpu_probe_leaves_stderr_quiet_on_a_headless_node():
    # Mesa's device-select layer asks Wayland for the display GPU whenever adapters are
    # listed, and prints "error: XDG_RUNTIME_DIR is invalid" twice without one; the library
    # switches it off for every driver, Python included.
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "WAYLAND_DISPLAY")}
    script = (
        "import os, numpy as np, trajwalk\n"
        "try:\n"
        "    trajwalk.compute(np.zeros((1, 3)), 1.0, n_walks=1000, n_interior_samples=1000, strategy='gpu')\n"
        "except RuntimeError as e:\n"
        "    print('no gpu:', e)\n"
        # The C environment, which Mesa reads (os.environ is Python's copy from startup).
        "import ctypes\n"
        "getenv = ctypes.CDLL(None).getenv\n"
        "getenv.restype = ctypes.c_char_p\n"
        "print(getenv(b'NODEVICE_SELECT'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "b'1'"
    assert "XDG_RUNTIME_DIR" not in out.stderr, out.stderr


def test_the_estimator_is_chosen_by_name_and_zenos_is_the_hit_fraction():
    # A lone sphere in its tight launch sphere: every walk hits, so ZENO's C = t R is the
    # launch radius exactly with no spread; the pairs of hit points give the radius to their
    # own, far from zero, std.
    zeno = trajwalk.compute([[0.0, 0.0, 0.0]], 2.0, n_walks=4000, n_interior_samples=100, estimator="zeno")
    assert zeno.capacitance.std[0] == 0.0 and abs(zeno.capacitance.value[0] - 2.0) < 1e-5
    pairs = trajwalk.compute([[0.0, 0.0, 0.0]], 2.0, n_walks=4000, n_interior_samples=100)
    assert pairs.capacitance.std[0] > 0.0 and z_ok(pairs.capacitance.value, pairs.capacitance.std, 2.0)
    with pytest.raises(ValueError, match="^invalid option: estimator 'binomial' is not one of hit-points, zeno$"):
        trajwalk.compute([[0.0, 0.0, 0.0]], 2.0, estimator="binomial")
