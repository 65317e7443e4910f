"""Fuzzing the CLI with generated bad input: every one is refused in one line.

``archtune run`` gets generated bad configs; ``archtune studies`` gets generated bad storage URLs.

``bad_configs(n, seed)`` starts from a valid config and applies one to three mutations, each
of which alone makes the config invalid (an unknown or misspelt key, a value of the wrong
type or out of range, a missing field, an unknown name, a broken space, broken YAML...). The
CLI runs in-process (Typer's runner); each config must end with exit code 2 and exactly one
line on stderr, ``archtune: error: ...``, with no traceback and no trial run.
"""

from __future__ import annotations

import copy
import logging
import random
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

N_CASES = 320
SEED = 16
CHUNK = 40
N_URLS = 80

Config = dict[str, Any]

TOP_KEYS = [
    *("name", "objective", "space", "objectives", "budget", "workers", "sampler"),
    *("scheduler", "executor", "storage", "seed", "max_retries", "constraints"),
    *("resources", "artifacts", "backend"),
]


def _base() -> Config:
    return {
        "name": "fuzz",
        "objective": "objectives:quadratic",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": {"score": "max"},
        "budget": {"trials": 2},
        "workers": 1,
        "scheduler": "none",
        "storage": None,  # replaced by a path in the test's folder
        "seed": 0,
    }


def _misspelt(rng: random.Random, word: str) -> str:
    """``word`` with one letter dropped, doubled or swapped (never ``word`` itself)."""
    i = rng.randrange(len(word))
    options = [word[:i] + word[i + 1 :], word[:i] + word[i] * 2 + word[i + 1 :]]
    if i + 1 < len(word) and word[i] != word[i + 1]:
        options.append(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    found = [w for w in options if w != word and w not in TOP_KEYS and w]
    return rng.choice(found) if found else word + "x"


def _unknown_top_key(rng: random.Random, c: Config) -> None:
    key = rng.choice(TOP_KEYS)
    value = c.pop(key, 1) if rng.random() < 0.5 else 1
    c[_misspelt(rng, key)] = value


def _unknown_nested_key(rng: random.Random, c: Config) -> None:
    block, keys = rng.choice(
        [
            ("budget", ["trials", "timeout", "steps", "trial_timeout"]),
            ("scheduler", ["name", "eta", "min_steps", "max_steps"]),
            ("resources", ["cpus", "gpus"]),
        ]
    )
    if not isinstance(c.get(block), dict):
        c[block] = {"trials": 2} if block == "budget" else {}
    c[block][_misspelt(rng, rng.choice(keys))] = 3


def _wrong_value(rng: random.Random, c: Config) -> None:
    field, bad = rng.choice(
        [
            ("workers", [0, -1, "two", 1.5, [1], {"n": 1}]),
            ("sampler", ["tpee", "bayes", 3, "", "random forest"]),
            ("scheduler", ["ashaa", 5, "", {"name": "bogus"}, {"name": "asha", "eta": 1}]),
            ("executor", ["dask", "", 1, "Ray "]),
            ("seed", ["zero", [0], {"s": 1}, 1.5]),
            ("max_retries", [-1, "many", 0.5]),
            ("name", ["", "a b", "x/y", "é!", 7, None]),
            ("objective", ["nocolon", "a:b:c", "", 123, ":f", "m:"]),
            ("objectives", [{"score": "maxx"}, {}, [1, 2], {"score": 1}, None]),
            ("storage", ["foo://bar", "", "archtune.db", "sqlite://host/x.db", 5]),
            ("backend", ["tensorflow", "", 1]),
            ("constraints", [{"params": "<= lots"}, {"params": 5}, "small", [1]]),
            ("resources", [{"cpus": -1}, {"gpus": "one"}, "all", {"tpus": 1}]),
            ("artifacts", [5, ["a"], {"b": 1}]),
            ("address", ["127.0.0.1:6379"]),  # without executor: ray
        ]
    )
    c[field] = rng.choice(bad)


def _bad_budget(rng: random.Random, c: Config) -> None:
    c["budget"] = rng.choice(
        [
            {"trials": rng.choice([0, -3, "ten", 2.5, None, [2]])},
            {"trials": 2, "timeout": rng.choice(["10 parsecs", -5, "soon", [1]])},
            {"trials": 2, "trial_timeout": rng.choice(["x", -1, {"s": 1}])},
            {"trials": 2, "steps": rng.choice([0, -1, "many"])},
            {"trials": 2, "max_consecutive_failures": rng.choice([0, "x"])},
            {},
            "ten",
            None,
            [2],
        ]
    )


def _missing_field(rng: random.Random, c: Config) -> None:
    c.pop(rng.choice(["name", "budget", "objectives", "space"]), None)
    if "objective" not in c:
        c.pop("data", None)


def _bad_space(rng: random.Random, c: Config) -> None:
    param = rng.choice(
        [
            {"type": "float", "low": 1.0, "high": 0.0},
            {"type": "float", "low": 0.0, "high": 1.0, "log": True},
            {"type": "int", "low": 1.5, "high": 3},
            {"type": "int", "low": 5, "high": 2},
            {"type": "choice", "options": []},
            {"type": "choice"},
            {"type": "floatt", "low": 0, "high": 1},
            {"type": "float", "low": 0.0},
            {"type": "float", "low": "a", "high": 1.0},
            {"type": "float", "low": 0.0, "high": 1.0, "when": {"nope": 1}},
            {"type": "float", "low": 0.0, "high": 1.0, "step": -1},
            {"type": "choice", "options": [1, 2], "low": 0},
        ]
    )
    if rng.random() < 0.3:
        c["space"] = rng.choice([[1], "x", None, 3])
    else:
        c["space"] = {"x": param}


def _builtin_blocks(rng: random.Random, c: Config) -> None:
    """Built-in training blocks that are wrong before any data is loaded."""
    del c["objective"]
    c.pop("space", None)
    c.pop("objectives", None)
    c["data"], c["model"] = rng.choice(
        [
            ({"dataset": "wine", "val_fraction": 2.0}, "mlp"),
            ({"dataset": "wine", "max_samples": 3}, "mlp"),
            ({"datset": "wine"}, "mlp"),
            ({"dataset": "wine", "standardise": False}, "mlp"),
            ("wine", {"network": "mlp-32-32", "family": "mlp"}),
            ("wine", {"family": "mlp", "space": "some"}),
            ({"dataset": "wine", "test_fraction": 0}, {"family": "mlp", "max_params": 0}),
            ("wine", None),
            (None, "mlp"),
        ]
    )
    if c["data"] is None:
        del c["data"]
    if c["model"] is None:
        del c["model"]


MUTATIONS: list[Callable[[random.Random, Config], None]] = [
    _unknown_top_key,
    _unknown_nested_key,
    _wrong_value,
    _bad_budget,
    _missing_field,
    _bad_space,
    _builtin_blocks,
]

BROKEN_TEXTS = [
    "name: [unclosed\n",
    "name: fuzz\n  budget: 2\n bad indent: x\n",
    "- just\n- a list\n",
    "42\n",
    "\n",
    "name: a\x07b\n",
    "name: fuzz\nname: fuzz\n\tbudget: {trials: 2}\n",
    "{{{{",
]


def bad_configs(n: int, seed: int) -> Iterator[tuple[str, str]]:
    """``n`` bad configs as (description, YAML text); the same ``seed`` gives the same ones."""
    rng = random.Random(seed)
    for index in range(n):
        if index % 20 == 19:
            text = rng.choice(BROKEN_TEXTS)
            yield f"{index}: broken text {text[:12]!r}", text
            continue
        config = copy.deepcopy(_base())
        applied = rng.sample(MUTATIONS, rng.choice([1, 1, 2, 3]))
        for mutate in applied:
            mutate(rng, config)
        names = "+".join(m.__name__.strip("_") for m in applied)
        yield f"{index}: {names}", yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


CASES = list(bad_configs(N_CASES, SEED))


@pytest.fixture
def restore_process_state() -> Iterator[None]:
    """``archtune run`` installs a SIGTERM handler and logging; put them back after."""
    handler = signal.getsignal(signal.SIGTERM)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    signal.signal(signal.SIGTERM, handler)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_fuzz_cases_are_many_and_deterministic() -> None:
    assert len(CASES) == N_CASES >= 300
    assert list(bad_configs(N_CASES, SEED)) == CASES
    assert len({text for _, text in CASES}) > N_CASES // 2  # varied, not one case repeated


@pytest.mark.parametrize("start", range(0, N_CASES, CHUNK))
def test_bad_configs_are_one_line_and_exit_code_2(
    start: int, tmp_path: Path, restore_process_state: None
) -> None:
    from typer.testing import CliRunner

    from archtune.cli import app

    runner = CliRunner()
    problems: list[str] = []
    for number, (name, text) in enumerate(CASES[start : start + CHUNK]):
        if "storage: null" in text:  # the valid base's storage: a file in this folder
            text = text.replace("storage: null", f"storage: sqlite:///{tmp_path / 'f.db'}")
        path = tmp_path / f"c{number}.yaml"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["run", str(path)], env={"COLUMNS": "200"})
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if (
            result.exit_code != 2
            or len(lines) != 1
            or not lines[0].startswith("archtune: error: ")
            or "Traceback" in result.output
            or not (result.exception is None or isinstance(result.exception, SystemExit))
        ):
            problems.append(f"{name}: exit {result.exit_code}, {result.stderr!r}\n{text}")
    assert not problems, "\n\n".join(problems[:5]) + f"\n\n({len(problems)} of {CHUNK} failed)"
    assert not list(tmp_path.glob("*.db")), "a bad config stored something"


_DIALECTS = {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql"}


def bad_storage_urls(n: int, seed: int) -> list[tuple[str, str | None]]:
    """``n`` bad storage URLs, each with the password it holds (``None``: none); ``{tmp}``
    and ``{port}`` stand for the test's folder and a closed port on 127.0.0.1."""
    rng = random.Random(seed)

    def word() -> str:
        while True:
            text = "".join(
                rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8))
            )
            if text not in _DIALECTS:
                return text

    forms: list[Callable[[], tuple[str, str | None]]] = [
        lambda: (f"{word()}://{word()}", None),
        lambda: (f"{word()}+{word()}://u@h/db", None),
        lambda: (f"postgresql+{word()}://u@127.0.0.1/db", None),
        lambda: (f"sqlite:///{{tmp}}/missing-{word()}/x.db", None),
        lambda: (f"sqlite://{word()}/x.db", None),
        lambda: (word(), None),
        lambda: (f"://{word()}", None),
        lambda: (" " * rng.randint(1, 3), None),
        lambda: (
            "postgresql+psycopg://u:{pw}@127.0.0.1:{port}/db".replace("{pw}", pw := word()),
            pw,
        ),
    ]
    return [rng.choice(forms)() for _ in range(n)]


URLS = bad_storage_urls(N_URLS, SEED)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_storage_urls_are_one_line_and_exit_code_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archtune.cli import app

    assert len(URLS) == N_URLS
    runner = CliRunner()
    port = _closed_port()
    problems: list[str] = []
    for template, password in URLS:
        url = template.replace("{tmp}", str(tmp_path)).replace("{port}", str(port))
        result = runner.invoke(app, ["studies", "--storage", url], env={"COLUMNS": "200"})
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if (
            result.exit_code != 2
            or len(lines) != 1
            or not lines[0].startswith("archtune: error: ")
            or "Traceback" in result.output
            or (password is not None and password in result.output)
        ):
            problems.append(f"{url!r}: exit {result.exit_code}, {result.stderr!r}")
    assert not problems, "\n".join(problems[:5]) + f"\n({len(problems)} of {N_URLS} failed)"
