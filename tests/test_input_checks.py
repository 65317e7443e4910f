"""Bad input is refused at the door: one line on stderr, exit code 2, nothing written.

``CASES`` is the table: each bad input, the command it is given to, and a piece of the one
line expected. The table runs in-process (Typer's runner: an escaping exception would be a
traceback); a few cases run again as real subprocesses. The mendings around the checks follow:
a run without a completed trial exits with 1, ``--resume`` takes a corrected config when no
trial completed, relative data paths are stored absolute, README's examples run as scripts.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
ARCHTUNE = [sys.executable, "-m", "archtune"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_only_folder(tmp: Path) -> Path:
    """A folder no file can be created in (root ignores permissions: use /sys then)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _config(tmp: Path, name: str = "c.yaml", **changes: Any) -> Path:
    config: dict[str, Any] = {
        "name": "demo",
        "objective": "objectives:quadratic",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": {"score": "max"},
        "budget": {"trials": 2},
        "workers": 1,
        "scheduler": "none",
        "storage": f"sqlite:///{tmp / 'ok.db'}",
        "seed": 0,
    }
    config.update(changes)
    config = {key: value for key, value in config.items() if value is not None}
    path = tmp / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _builtin(tmp: Path, **blocks: Any) -> Path:
    return _config(
        tmp,
        objective=None,
        space=None,
        objectives=None,
        data=blocks.pop("data", "wine"),
        model=blocks.pop("model", "mlp"),
        **blocks,
    )


def _empty_storage(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'empty.db'}"
    optuna.storages.RDBStorage(url)  # the schema, no study
    return url


def _file(tmp: Path, content: bytes, name: str = "bad.yaml") -> Path:
    path = tmp / name
    path.write_bytes(content)
    return path


def _zip(tmp: Path, name: str) -> Path:
    """A valid zip archive that holds no Keras model."""
    import zipfile

    path = tmp / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return path


@dataclass(frozen=True)
class Case:
    """A bad input: ``args(tmp)`` are the command line; stderr must contain ``expect``."""

    name: str
    args: Callable[[Path], list[str]]
    expect: str


def run_with_storage(url: str | Callable[[Path], str]) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        storage = url(tmp) if callable(url) else url
        return ["run", str(_config(tmp)), "--storage", storage]

    return args


CASES = [
    Case(
        "lr-find with a built-in network of another input",
        lambda t: ["lr-find", "--data", "wine", "--model", "mlp-32-32", "--steps", "20"],
        "takes inputs of shape (10,), but the data's are (13,); a family builds its network",
    ),
    # --- counts: YAML's `yes` is true, not 1 -------------------------------------------------
    Case(
        "trials given as yes",
        lambda t: ["run", str(_config(t, budget={"trials": True}))],
        "budget.trials must be an integer >= 1, got True",
    ),
    Case(
        "trials given as text",
        lambda t: ["run", str(_config(t, budget={"trials": "2"}))],
        "budget.trials must be an integer >= 1, got '2'",
    ),
    # --- storage URLs: unknown scheme, SQLite folders, unreachable servers, empty ------------
    Case("unknown scheme", run_with_storage("foo://x"), "unknown scheme 'foo'"),
    Case("not a URL", run_with_storage("archtune.db"), "is not a storage URL"),
    Case("empty URL", run_with_storage(""), "must be a storage URL"),
    Case("blank URL", run_with_storage("   "), "must be a storage URL"),
    Case(
        "SQLite in a missing folder",
        run_with_storage(lambda t: f"sqlite:///{t / 'missing' / 'a.db'}"),
        "missing does not exist",
    ),
    Case(
        "SQLite in a read-only folder",
        run_with_storage(lambda t: f"sqlite:///{_read_only_folder(t) / 'a.db'}"),
        "cannot create files in the folder",
    ),
    Case(
        "SQLite path is a folder",
        run_with_storage(lambda t: f"sqlite:///{t}"),
        "is a folder, not a database file",
    ),
    Case(
        "SQLite file that is not a database",
        run_with_storage(lambda t: f"sqlite:///{_file(t, b'name: x' * 200, 'x.db')}"),
        "is not an SQLite database",
    ),
    Case(
        "SQLite URL with a host",
        run_with_storage("sqlite://localhost/x.db"),
        "is not an SQLite URL",
    ),
    Case(
        "unreachable PostgreSQL",
        run_with_storage(lambda t: f"postgresql+psycopg://u:pw@127.0.0.1:{_closed_port()}/db"),
        "cannot connect",
    ),
    Case(
        "PostgreSQL with a port that is not a number",
        run_with_storage("postgresql+psycopg://u:pw@127.0.0.1:notaport/db"),
        "is not a storage URL",
    ),
    Case(
        "MySQL without its driver",
        run_with_storage("mysql://u@127.0.0.1/db"),
        "driver is not installed",
    ),
    Case(
        "bad storage in the config file",
        lambda t: ["run", str(_config(t, storage="foo://x"))],
        "c.yaml: storage 'foo://x' has an unknown scheme",
    ),
    Case(
        "studies on an unknown scheme",
        lambda t: ["studies", "--storage", "foo://x"],
        "unknown scheme",
    ),
    Case(
        "show on a missing SQLite file",
        lambda t: ["show", "demo", "--storage", f"sqlite:///{t / 'none.db'}"],
        "does not exist (no studies there yet)",
    ),
    Case(
        "report on unreachable PostgreSQL",
        lambda t: [
            "report",
            "demo",
            "--storage",
            f"postgresql+psycopg://u@127.0.0.1:{_closed_port()}/db",
        ],
        "cannot connect",
    ),
    Case(
        "export on an empty URL",
        lambda t: ["export", "demo", "--format", "onnx", "-o", "m.onnx", "--storage", ""],
        "must be a storage URL",
    ),
    Case(
        "dashboard on an unknown scheme",
        lambda t: ["dashboard", "--storage", "foo://x"],
        "unknown scheme",
    ),
    Case(
        "shrink on an unknown scheme",
        lambda t: ["shrink", "mlp", "--data", "wine", "--storage", "foo://x"],
        "unknown scheme",
    ),
    # --- issue 16: what a new user hit ------------------------------------------------------
    Case(
        "studies on foo://bar lists the supported schemes",
        lambda t: ["studies", "--storage", "foo://bar"],
        "has an unknown scheme 'foo' (supported: sqlite, postgresql+psycopg (or postgresql), "
        "mysql+<driver>)",
    ),
    Case(
        "unreachable PostgreSQL names its host and port",
        run_with_storage(lambda t: f"postgresql+psycopg://u:pw@127.0.0.1:{_closed_port()}/db"),
        "cannot connect to 127.0.0.1:",
    ),
    Case(
        "a misspelt key is named first, with the closest valid key",
        lambda t: [
            "run",
            str(_config(t, objectives=None, budget=None, objectivs={"score": "max"})),
        ],
        "c.yaml: objectivs is not a known field (did you mean 'objectives'?); allowed: ",
    ),
    Case(
        "a misspelt key in a block",
        lambda t: ["run", str(_config(t, budget={"trials": 2, "timout": "1m"}))],
        "budget.timout is not a known field (did you mean 'timeout'?)",
    ),
    Case(
        "a .keras file of random bytes",
        lambda t: ["shrink", str(_file(t, bytes(range(256)) * 4, "bad.keras")), "--data", "wine"],
        "bad.keras' is corrupt or of another format: a .keras file is a zip archive",
    ),
    Case(
        "an empty .keras file",
        lambda t: ["shrink", str(_file(t, b"", "empty.keras")), "--data", "wine"],
        "empty.keras' is empty (0 bytes)",
    ),
    Case(
        "a zip archive that is not a Keras model",
        lambda t: ["shrink", str(_zip(t, "other.keras")), "--data", "wine"],
        "other.keras' is a zip archive but not a Keras model (it has no config.json)",
    ),
    Case(
        "a .npz file of random bytes",
        lambda t: ["shrink", "mlp", "--data", str(_file(t, bytes(range(256)) * 4, "bad.npz"))],
        "bad.npz: is corrupt or of another format: a .npz file is a zip archive of arrays",
    ),
    # --- output paths, checked before any work ----------------------------------------------
    Case(
        "report -o in a read-only folder",
        lambda t: [
            "report",
            "demo",
            "--storage",
            _empty_storage(t),
            "-o",
            str(_read_only_folder(t) / "r.html"),
        ],
        "cannot be written",
    ),
    Case(
        "report -o under a file",
        lambda t: [
            "report",
            "demo",
            "--storage",
            _empty_storage(t),
            "-o",
            str(_file(t, b"x", "plain.txt") / "r.html"),
        ],
        "is a file, not a folder",
    ),
    Case(
        "report -o is a folder",
        lambda t: ["report", "demo", "--storage", _empty_storage(t), "-o", str(t)],
        "is a folder; give a file name",
    ),
    Case(
        "export -o in a read-only folder",
        lambda t: [
            "export",
            "demo",
            "--format",
            "onnx",
            "--storage",
            _empty_storage(t),
            "-o",
            str(_read_only_folder(t) / "m.onnx"),
        ],
        "cannot be written",
    ),
    Case(
        "export -o under a file",
        lambda t: [
            "export",
            "demo",
            "--format",
            "onnx",
            "--storage",
            _empty_storage(t),
            "-o",
            str(_file(t, b"x", "plain.txt") / "sub" / "m.onnx"),
        ],
        "is a file, not a folder",
    ),
    Case(
        "lr-find -o in a read-only folder",
        lambda t: [
            "lr-find",
            "--data",
            "wine",
            "--model",
            "mlp",
            "-o",
            str(_read_only_folder(t) / "c.html"),
        ],
        "cannot be written",
    ),
    Case(
        "shrink -o in a read-only folder",
        lambda t: ["shrink", "mlp", "--data", "wine", "-o", str(_read_only_folder(t) / "m.onnx")],
        "cannot be written",
    ),
    # --- config files that cannot be read ---------------------------------------------------
    Case(
        "config in Latin-1",
        lambda t: ["run", str(_file(t, "name: café\n".encode("latin-1")))],
        "bad.yaml: is not UTF-8 text (byte 0xe9",
    ),
    Case(
        "config of binary bytes",
        lambda t: ["run", str(_file(t, bytes(range(256))))],
        "is not UTF-8 text",
    ),
    Case("config is a folder", lambda t: ["run", str(t)], "cannot be read"),
    Case("config missing", lambda t: ["run", str(t / "none.yaml")], "no such file"),
    Case(
        "config with a control character",
        lambda t: ["run", str(_file(t, b"name: a\x07b\n"))],
        "invalid YAML",
    ),
    # --- built-in training: caught at load, not as infeasible or failed trials ------------
    Case(
        "cnn2d family on flat data",
        lambda t: ["run", str(_builtin(t, model={"family": "cnn2d"}))],
        "model.family cnn2d takes images shaped (height, width, channels), but the data's "
        "inputs have shape (13,)",
    ),
    Case(
        "rnn family on flat data",
        lambda t: ["run", str(_builtin(t, model={"family": "rnn"}))],
        "model.family rnn takes sequences",
    ),
    Case(
        "a fixed network that cannot be built",
        lambda t: [
            "run",
            str(
                _builtin(t, data="digits", model={"family": "cnn2d", "space": "none", "depth": 5})
            ),
        ],
        "cannot be built on digits's inputs (8, 8, 1)",
    ),
    Case(
        "recipe epochs 0",
        lambda t: ["run", str(_builtin(t, recipe={"epochs": 0}))],
        "recipe.epochs must be an integer >= 1, got 0",
    ),
    Case(
        "recipe lr negative",
        lambda t: ["run", str(_builtin(t, recipe={"lr": -1.0}))],
        "recipe.lr must be a number with 0 < x, got -1.0",
    ),
    Case(
        "recipe batch size range from 0",
        lambda t: [
            "run",
            str(_builtin(t, recipe={"batch_size": {"type": "int", "low": 0, "high": 8}})),
        ],
        "recipe.batch_size must be an integer >= 1, got 0",
    ),
    Case(
        "recipe optimizer choice with an unknown option",
        lambda t: [
            "run",
            str(_builtin(t, recipe={"optimizer": {"type": "choice", "options": ["adam", "x"]}})),
        ],
        "recipe.optimizer must be one of",
    ),
    Case(
        "recipe momentum with adam, both fixed",
        lambda t: ["run", str(_builtin(t, recipe={"optimizer": "adam", "momentum": 0.9}))],
        "recipe.momentum does not apply to optimizer='adam'",
    ),
    Case(
        "recipe warmup longer than the fixed epochs",
        lambda t: ["run", str(_builtin(t, recipe={"epochs": 2, "warmup_epochs": 3}))],
        "recipe.warmup_epochs must be <= recipe.epochs (2)",
    ),
    Case(
        "recipe piecewise points out of order",
        lambda t: [
            "run",
            str(
                _builtin(
                    t,
                    recipe={
                        "epochs": 4,
                        "schedule": "piecewise",
                        "piecewise": [{"epoch": 0, "lr": 0.1}, {"epoch": 2}, {"epoch": 1}],
                    },
                )
            ),
        ],
        "recipe.piecewise[2].epoch must be greater than the previous point's (2), got 1",
    ),
]


@pytest.fixture
def restore_process_state() -> Any:
    """``archtune run`` installs a SIGTERM handler and logging; put them back after."""
    import logging
    import signal

    handler = signal.getsignal(signal.SIGTERM)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    signal.signal(signal.SIGTERM, handler)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_exit_code_2(
    case: Case, tmp_path: Path, restore_process_state: Any
) -> None:
    from typer.testing import CliRunner

    from archtune.cli import app

    args = case.args(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.name}: {result.exception!r}"
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (case.name, result.stderr)
    assert len(lines) == 1, (case.name, result.stderr)
    assert lines[0].startswith("archtune: error: "), lines
    assert case.expect in lines[0], (case.name, lines[0])
    assert "Traceback" not in result.output
    assert "pw@" not in lines[0], "a password reached the output"
    assert "not found" not in lines[0].lower() or "not found in" in lines[0]
    # Nothing was stored: no database or output file appeared beside the inputs.
    after = sorted(p.name for p in tmp_path.iterdir())
    new = set(after) - set(before)
    assert not {n for n in new if n.endswith((".db", ".html", ".onnx"))} - {"empty.db"}, new


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def _cli(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHTUNE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "name", ["unknown scheme", "unreachable PostgreSQL", "config in Latin-1", "recipe epochs 0"]
)
def test_bad_input_as_a_real_process(name: str, tmp_path: Path, cli_env: dict[str, str]) -> None:
    case = next(c for c in CASES if c.name == name)
    done = _cli(*case.args(tmp_path), env=cli_env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert case.expect in lines[0]


# --- the mendings around the checks -----------------------------------------------------------


@pytest.mark.integration
def test_a_run_without_a_completed_trial_exits_1_and_resume_takes_a_corrected_config(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    # Every trial fails: x < 0 raises in the objective.
    bad = _config(
        tmp_path,
        objective="objectives:fail_when_negative",
        space={"x": {"type": "float", "low": -1.0, "high": -0.5}},
    )
    done = _cli("run", str(bad), env=cli_env)
    assert done.returncode == 1, done.stderr
    assert "no trial of study demo completed (2 failed)" in _flat(done.stderr)
    assert "boom at x=" in done.stderr
    assert "Traceback" not in done.stderr

    # The corrected space replaces the study (no trial completed), and says so.
    good = _config(
        tmp_path,
        objective="objectives:fail_when_negative",
        space={"x": {"type": "float", "low": 0.5, "high": 1.0}},
    )
    again = _cli("run", str(good), "--resume", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert "no trial of study 'demo' completed, so the config replaces" in _flat(again.stderr)
    assert "(space changed)" in _flat(again.stderr)
    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{tmp_path / 'ok.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.user_attrs["archtune.space"]["x"]["low"] == 0.5

    # Once a trial completed, a different space is refused as before.
    other = _config(
        tmp_path,
        objective="objectives:fail_when_negative",
        space={"x": {"type": "float", "low": 0.2, "high": 1.0}},
        budget={"trials": 3},
    )
    refused = _cli("run", str(other), "--resume", env=cli_env)
    assert refused.returncode == 2
    assert "the space differs at parameter 'x'" in _flat(refused.stderr)


def _flat(text: str) -> str:
    """Console text with the wrapping undone."""
    return " ".join(text.split())


def test_relative_data_paths_are_stored_absolute(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_wine

    from archtune.config import build_experiment

    x, y = load_wine(return_X_y=True)
    rows = ["a,b,c,target"] + [f"{r[0]},{r[1]},{r[2]},{int(c)}" for r, c in zip(x, y, strict=True)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.csv").write_text("\n".join(rows) + "\n")
    experiment = build_experiment(
        {
            "name": "w",
            "data": {"dataset": "./data/w.csv"},
            "model": "mlp",
            "budget": {"trials": 1},
        },
        source="t.yaml",
    )
    record = experiment.study_attrs["archtune.builtin"]
    assert record["data"]["dataset"] == str(tmp_path / "data" / "w.csv")
    # The objective the workers get reads the same absolute file.
    assert dict(experiment.objective.target.data)["dataset"] == str(tmp_path / "data" / "w.csv")


def _readme_examples() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if re.search(r"\b(tune|shrink)\(", b)]


def test_readme_examples_that_start_workers_have_a_main_guard() -> None:
    """Scripts keep the habit (workers never need it: tests/execution/test_objective_by_value.py);
    the notebook page's blocks are notebook cells, which have no ``__main__`` guard."""
    examples = _readme_examples()
    assert examples, "README has no tune()/shrink() example any more"
    docs = [
        REPO_ROOT / "docs" / p
        for p in os.listdir(REPO_ROOT / "docs")
        if p.endswith(".md") and p != "notebooks.md"
    ]
    for path in docs:
        for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.S):
            if re.search(r"archtune\.(tune|shrink)\(", block):
                examples.append(block)
    for code in examples:
        assert 'if __name__ == "__main__":' in code, code


@pytest.mark.integration
def test_readme_tune_example_runs_as_a_script(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """Spawned workers import the script: without the guard they would run it again."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    code = _readme_examples()[0]
    assert "examples.quickstart:train" in code
    small = code.replace("n_trials=20", "n_trials=2").replace('"epochs": 20', '"epochs": 1')
    assert small != code
    script = tmp_path / "example.py"
    script.write_text(small)
    env = dict(cli_env, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), cli_env["PYTHONPATH"]]))
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "val_accuracy" in done.stdout


@pytest.mark.parametrize(
    "storage",
    ["foo://bar", "sqlite:////no/such/folder/x.db", "postgresql+psycopg://u:pw@127.0.0.1:1/db"],
)
def test_tune_checks_its_storage_before_anything_runs(storage: str) -> None:
    """``archtune.tune()`` refuses a storage it cannot open with one ConfigError line."""
    import archtune
    from archtune import ConfigError, Float

    with pytest.raises(ConfigError, match=r"tune\(\): storage") as caught:
        archtune.tune(
            "objectives:quadratic",
            {"x": Float(0.0, 1.0)},
            objectives={"score": "max"},
            n_trials=1,
            storage=storage,
        )
    assert "\n" not in str(caught.value)
    assert ":pw@" not in str(caught.value)  # the password stays hidden


@pytest.mark.parametrize(
    ("args", "from_env", "source"),
    [
        (["show", "demo"], True, "ARCHTUNE_STORAGE"),
        (["studies", "--json"], True, "ARCHTUNE_STORAGE"),
        (["report", "demo"], True, "ARCHTUNE_STORAGE"),
        (["shrink", "mlp", "--data", "wine"], True, "ARCHTUNE_STORAGE"),
        (["show", "demo", "--storage", "{url}"], False, "--storage"),
        (["studies", "--storage", "{url}"], False, "--storage"),
    ],
)
def test_a_storage_error_names_where_the_url_came_from(
    args: list[str], from_env: bool, source: str, tmp_path: Path, restore_process_state: Any
) -> None:
    """The environment variable, when it gave the URL; the option when it did (and wins)."""
    from typer.testing import CliRunner

    from archtune.cli import app

    url = f"sqlite:///{tmp_path / 'missing' / 'studies.db'}"
    env = {"COLUMNS": "200", "ARCHTUNE_STORAGE": url if from_env else "sqlite:///other.db"}
    args = [url if a == "{url}" else a for a in args]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"archtune: error: {source} '{url}': "), result.stderr


def test_a_storage_error_names_the_default_when_nothing_gave_one(
    restore_process_state: Any,
) -> None:
    from typer.testing import CliRunner

    from archtune.cli import app

    result = CliRunner().invoke(app, ["show", "demo"], env={"ARCHTUNE_STORAGE": None})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        "archtune: error: --storage (default) 'sqlite:///archtune.db': the file archtune.db "
        "does not exist"
    ), result.stderr


def test_shrink_names_its_storage_argument() -> None:
    import archtune
    from archtune import ConfigError

    url = "sqlite:////no/such/folder/x.db"
    with pytest.raises(ConfigError, match=rf"^shrink\(\): storage '{url}': the folder "):
        archtune.shrink("mlp", "wine", storage=url)
    with pytest.raises(ConfigError, match=rf"^shrink_trial\(\): storage '{url}': the file "):
        archtune.shrink_trial("demo", storage=url)


def test_an_sqlite_file_its_killed_writer_left_mid_transaction_still_opens(
    tmp_path: Path,
) -> None:
    """A driver SIGKILLed during a write leaves a hot journal; --resume must not refuse it."""
    from archtune import ConfigError
    from archtune.config import check_storage

    db = tmp_path / "hot.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{db}")
    code = (
        "import os, signal, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('PRAGMA cache_size=1')\n"  # pages spill to the file: the journal is hot
        "c.execute('BEGIN IMMEDIATE')\n"
        "c.execute('CREATE TABLE filler (x)')\n"
        "c.executemany('INSERT INTO filler VALUES (?)', [('x' * 500,)] * 2000)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=False)
    assert (tmp_path / "hot.db-journal").exists()
    check_storage(f"sqlite:///{db}")  # no error: a writer rolls the journal back
    assert optuna.load_study(study_name="s", storage=f"sqlite:///{db}").study_name == "s"
    (tmp_path / "not.db").write_bytes(b"not a database at all, not even close")
    (tmp_path / "not.db-journal").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"is not an SQLite database"):
        check_storage(f"sqlite:///{tmp_path / 'not.db'}")
