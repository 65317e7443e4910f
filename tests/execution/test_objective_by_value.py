"""Objectives defined interactively reach the workers (by value); module ones by reference.

Each way a user defines an objective outside an importable module runs for real with two
worker processes: ``python -c``, a script piped on stdin, a script without the
``if __name__ == "__main__":`` guard, a cell run with ``exec``, a closure, a lambda; and on
the Ray executor. (A notebook cell is ``tests/test_notebook.py``.)
"""

from __future__ import annotations

import functools
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archtune import Float, ObjectiveError, tune
from archtune.execution import ObjectiveRef

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent(
    """
    import archtune
    from archtune import Float

    scale = 3.0  # a global the objective reads: it travels with the function

    def objective(config):
        return {"loss": scale * (config["x"] - 0.5) ** 2}

    result = archtune.tune(
        objective, {"x": Float(0.0, 1.0)}, objectives={"loss": "min"},
        n_trials=4, n_workers=2, seed=0,
    )
    print("COUNTS", result.counts)
    print("STARTED", __name__)
    """
)


def _python(
    args: list[str], *, stdin: str | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def _check(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    assert "COUNTS {'complete': 4}" in done.stdout, done.stdout + done.stderr
    assert done.stdout.count("STARTED") == 1  # the script ran once: never in a worker
    assert "Traceback" not in done.stderr
    assert "worker process" not in done.stderr


def test_python_dash_c(tmp_path: Path) -> None:
    _check(_python(["-c", SCRIPT], cwd=tmp_path))


def test_a_script_piped_on_stdin(tmp_path: Path) -> None:
    _check(_python(["-"], stdin=SCRIPT, cwd=tmp_path))


def test_a_script_without_the_main_guard(tmp_path: Path) -> None:
    script = tmp_path / "no_guard.py"
    script.write_text(SCRIPT)
    _check(_python([str(script)], cwd=tmp_path))


def test_a_module_run_with_dash_m_without_the_guard(tmp_path: Path) -> None:
    (tmp_path / "tuning.py").write_text(SCRIPT)
    _check(_python(["-m", "tuning"], cwd=tmp_path))


def _exec_cell() -> Callable[..., Any]:
    """A function as a notebook or ``exec`` defines it: ``__module__`` is ``__main__``, but
    the real ``__main__`` (pytest's) does not have it."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(
        "offset = 0.25\ndef cell_objective(config):\n"
        "    return {'loss': (config['x'] - offset) ** 2}\n",
        namespace,
    )
    return namespace["cell_objective"]  # type: ignore[no-any-return]


def _make_closure(target: float) -> Callable[[dict[str, Any]], dict[str, float]]:
    def closure(config: dict[str, Any]) -> dict[str, float]:
        return {"loss": (config["x"] - target) ** 2}

    return closure


def _lambda() -> Callable[[dict[str, Any]], dict[str, float]]:
    return lambda config: {"loss": abs(config["x"] - 0.75)}


@pytest.mark.parametrize(
    "make", [_exec_cell, functools.partial(_make_closure, 0.4), _lambda], ids=str
)
def test_in_process_objectives_by_value_on_two_workers(make: Callable[[], Any]) -> None:
    objective = make()
    assert ObjectiveRef(objective).by_value
    result = tune(
        objective,
        {"x": Float(0.0, 1.0)},
        objectives={"loss": "min"},
        n_trials=4,
        n_workers=2,
        seed=0,
    )
    assert result.counts == {"complete": 4}


def test_module_functions_still_travel_by_reference() -> None:
    from objectives import quadratic

    ref = ObjectiveRef(quadratic)
    assert not ref.by_value
    blob = pickle.dumps(ref)
    assert b"cloudpickle" not in blob
    assert b"objectives" in blob  # the module's name and the function's, nothing more
    assert b"quadratic" in blob
    assert pickle.loads(blob).load() is quadratic
    assert not ObjectiveRef("objectives:quadratic").by_value


def test_by_value_objectives_unpickle_in_a_process_without_them() -> None:
    ref = ObjectiveRef(_make_closure(0.1))
    blob = pickle.dumps(ref)
    code = (
        "import pickle, sys; ref = pickle.loads(sys.stdin.buffer.read()); "
        "print(ref.load()({'x': 0.6})['loss'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=blob, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(0.25)


def test_an_objective_that_cannot_be_pickled_fails_at_once_in_one_line() -> None:
    import threading

    lock = threading.Lock()

    def holds_a_lock(config: dict[str, Any]) -> float:
        with lock:
            return float(config["x"])

    with pytest.raises(ObjectiveError) as caught:
        tune(holds_a_lock, {"x": Float(0.0, 1.0)}, objectives={"x": "max"}, n_trials=2)
    message = str(caught.value)
    assert "\n" not in message
    assert "cannot be sent to a worker process" in message
    assert "lock" in message


def test_an_objective_the_workers_cannot_import_fails_at_once_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module that exists only in the driver (made at run time): pickled by reference, it
    cannot be unpickled in a worker. The first worker says so; none is restarted."""
    import types

    ghost = types.ModuleType("ghost_objectives")
    exec("def objective(config):\n    return {'loss': config['x']}\n", ghost.__dict__)
    monkeypatch.setitem(sys.modules, "ghost_objectives", ghost)
    assert not ObjectiveRef(ghost.objective).by_value  # its module "is importable" here
    with pytest.raises(ObjectiveError) as caught:
        tune(
            ghost.objective,
            {"x": Float(0.0, 1.0)},
            objectives={"loss": "min"},
            n_trials=4,
            n_workers=2,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "No module named 'ghost_objectives'" in message
    assert "keep dying" not in message


@pytest.mark.ray
def test_a_lambda_on_the_ray_executor() -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        result = tune(
            lambda config: {"loss": (config["x"] - 0.5) ** 2},
            {"x": Float(0.0, 1.0)},
            objectives={"loss": "min"},
            n_trials=4,
            n_workers=2,
            seed=0,
            executor="ray",
        )
    finally:
        ray.shutdown()
    assert result.counts == {"complete": 4}
