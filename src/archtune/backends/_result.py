"""What training returns, in every backend: :class:`FitResult` (framework-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        metrics: The final metrics: the last epoch's ``train_loss``, ``val_*`` and ``lr``, and
            ``test_*`` on the test split (when it is not empty).
        history: One dict per epoch: ``epoch`` (1-based), ``train_loss``, ``val_loss``,
            ``val_accuracy`` or ``val_mse``/``val_mae``, ``lr`` (the epoch's last step's)
            and ``epoch_time`` (seconds, training and validation).
        epoch_times: The seconds each epoch took.
        epochs_run: How many epochs were trained.
        stopped_early: Whether the reporter stopped the run before ``recipe.epochs``.
        n_steps: The optimizer steps taken.
        device: Where it trained, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    epoch_times: list[float] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    n_steps: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the result."""
        return {
            "metrics": dict(self.metrics),
            "history": [dict(h) for h in self.history],
            "epoch_times": list(self.epoch_times),
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "n_steps": self.n_steps,
            "device": self.device,
        }
