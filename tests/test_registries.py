"""One table per kind of plug-in: every name is documented and accepted by the config."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from archtune.arch.families import FAMILIES
from archtune.backends import BACKENDS
from archtune.config import build_experiment
from archtune.execution import EXECUTORS
from archtune.search import SAMPLER_NAMES, SAMPLERS, SCHEDULER_NAMES, SCHEDULERS

DOCS = Path(__file__).resolve().parent.parent / "docs"

REGISTRIES = {
    "sampler": ("auto", *SAMPLERS),
    "scheduler": ("auto", *SCHEDULERS),
    "backend": tuple(BACKENDS),
    "executor": tuple(EXECUTORS),
}


def _documented(field: str) -> set[str]:
    """The names in the allowed-values cell of ``field``'s row in docs/configuration.md."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{field}` \| ([^|]*) \|", text, flags=re.MULTILINE)
    assert row is not None, f"docs/configuration.md has no row for {field}"
    cell = row.group(1).split(", or ")[0]  # `scheduler`: names, or a mapping
    return {word for code in re.findall(r"`([^`]*)`", cell) for word in code.split()}


@pytest.mark.parametrize("field", sorted(REGISTRIES))
def test_every_registry_name_is_documented(field: str) -> None:
    assert _documented(field) - {"or"} == set(REGISTRIES[field])


def test_the_exported_names_are_the_tables() -> None:
    assert REGISTRIES["sampler"] == SAMPLER_NAMES
    assert REGISTRIES["scheduler"] == SCHEDULER_NAMES


def test_every_family_is_documented() -> None:
    text = (DOCS / "families.md").read_text(encoding="utf-8")
    for name in FAMILIES:
        assert f"## `{name}`" in text


def _config(**fields: Any) -> dict[str, Any]:
    return {
        "name": "s",
        "objective": "objectives:quadratic",
        "space": {"x": {"type": "choice", "options": [0.1, 0.3]}},
        "objectives": {"score": "max"},
        "budget": {"trials": 2},
        "storage": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("field", "name"), [(field, name) for field, names in REGISTRIES.items() for name in names]
)
def test_every_registry_name_is_accepted_by_the_config(field: str, name: str) -> None:
    setting: dict[str, Any] = {field: name}
    if (field, name) == ("scheduler", "pbt"):
        setting = {field: {"name": "pbt", "max_steps": 4, "perturb": ["x"]}}
    experiment = build_experiment(_config(**setting), source="t.yaml")
    value = getattr(experiment, field, None)
    if field == "scheduler":
        assert experiment.scheduler.name == name
    elif field != "backend":  # the backend is built-in training's, kept in its objective
        assert value == name


@pytest.mark.parametrize("field", ["sampler", "scheduler", "backend", "executor"])
def test_an_unknown_name_lists_the_registry(field: str) -> None:
    from archtune import ConfigError

    names = REGISTRIES[field]
    expected = ", ".join(map(repr, names[:-1])) + f" or {names[-1]!r}"
    where = "scheduler.name" if field == "scheduler" else field
    with pytest.raises(ConfigError, match=re.escape(f"{where} must be one of {expected}")):
        build_experiment(_config(**{field: "nope"}), source="t.yaml")


def test_bruteforce_needs_a_finite_space() -> None:
    from archtune import ConfigError

    space = {"x": {"type": "float", "low": 0.0, "high": 1.0}}
    with pytest.raises(ConfigError, match=r"^t\.yaml: space\.x\.step must be set for sampler"):
        build_experiment(_config(sampler="bruteforce", space=space), source="t.yaml")
