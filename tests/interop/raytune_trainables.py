"""Ray Tune function trainables for tests/interop/test_raytune.py (workers import them).

``train_digits`` is the trainable of docs/migrating-from-ray-tune.md: a small PyTorch MLP on
scikit-learn's digits, one report per epoch, a checkpoint folder each time. It is written
against a ``tune`` namespace so that the very same code runs under Ray Tune
(:func:`train_digits_ray`) and under archtune (:func:`train_digits_archtune`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from archtune.interop import raytune as archtune_tune


def _digits() -> tuple[Any, Any, Any, Any]:
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = (x[order] / 16.0).astype("float32"), y[order].astype("int64")
    return x[:1400], y[:1400], x[1400:], y[1400:]


def train_digits(config: dict[str, Any], tune: Any) -> None:
    """An MLP on digits; reports ``val_loss`` and ``val_accuracy`` after every epoch."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(config["seed"])
    x_train, y_train, x_val, y_val = (torch.from_numpy(a) for a in _digits())
    model = torch.nn.Sequential(
        torch.nn.Linear(64, config["hidden"]),
        torch.nn.ReLU(),
        torch.nn.Linear(config["hidden"], 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    start = 1
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder, "state.pt"))
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = state["epoch"] + 1
    generator = torch.Generator().manual_seed(config["seed"])
    for epoch in range(start, config["epochs"] + 1):
        model.train()
        for batch in torch.randperm(len(y_train), generator=generator).split(64):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = float(torch.nn.functional.cross_entropy(logits, y_val))
            val_accuracy = float((logits.argmax(1) == y_val).float().mean())
        with tempfile.TemporaryDirectory() as folder:
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
                Path(folder, "state.pt"),
            )
            tune.report(
                {"val_loss": val_loss, "val_accuracy": val_accuracy},
                checkpoint=tune.Checkpoint.from_directory(folder),
            )


def train_digits_ray(config: dict[str, Any]) -> None:
    """``train_digits`` under Ray Tune (``from ray import tune``)."""
    from ray import tune

    train_digits(config, tune)


def train_digits_archtune(config: dict[str, Any]) -> None:
    """``train_digits`` under archtune (``from archtune.interop import raytune as tune``)."""
    train_digits(config, archtune_tune)


def curves(config: dict[str, Any]) -> None:
    """A score that rises to ``quality`` over ``epochs`` reports; its order is known."""
    tune: ModuleType = archtune_tune
    for epoch in range(1, config["epochs"] + 1):
        tune.report({"score": config["quality"] * epoch / config["epochs"], "epoch": epoch})


def crash_after_checkpoint(config: dict[str, Any]) -> None:
    """Counts epochs in a checkpoint file; raises once at ``crash_at`` on a first attempt."""
    start = 1
    checkpoint = archtune_tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            start = json.loads(Path(folder, "state.json").read_text())["epoch"] + 1
    for epoch in range(start, config["epochs"] + 1):
        if epoch == config["crash_at"] and checkpoint is None:
            raise RuntimeError(f"crash at epoch {epoch}")
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.json").write_text(json.dumps({"epoch": epoch}))
            archtune_tune.report(
                {"epoch": epoch, "start": start},
                checkpoint=archtune_tune.Checkpoint.from_directory(folder),
            )


def silent(config: dict[str, Any]) -> None:
    """Never reports."""
    os.environ.get("HOME")
