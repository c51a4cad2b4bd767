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
