"""The worker side of :func:`archtune.interop.kerastuner.tune_builder`.

:class:`KerasBuildObjective` is plain, picklable data (the build function by reference, the
data spec, the fit settings); each worker replays ``build(hp)`` with the trial's
configuration, trains the compiled Keras model and reports every epoch to the driver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archtune._errors import ObjectiveError
from archtune._imports import require
from archtune._reporter import Decision, NullReporter, Reporter

if TYPE_CHECKING:
    from archtune.data import Dataset

__all__ = ["KerasBuildObjective", "reporter_callback"]


def reporter_callback(keras: Any, reporter: Reporter) -> Any:
    """A Keras callback that reports each epoch's logs and stops on :attr:`Decision.STOP`.

    Steps are counted from 1 (the epochs trained so far), as archtune's own trainer does.
    """

    class ReporterCallback(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.epochs_run = 0
            self.last: dict[str, float] = {}

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self.epochs_run = epoch + 1
            self.last = {
                name: float(value)
                for name, value in (logs or {}).items()
                if isinstance(value, (int, float)) or hasattr(value, "__float__")
            }
            if reporter.report(epoch + 1, **self.last) is Decision.STOP:
                self.model.stop_training = True

    return ReporterCallback()


@dataclass(frozen=True)
class KerasBuildObjective:
    """``objective(config, reporter)``: build, train and measure one KerasTuner-style trial.

    Attributes:
        build: ``build(hp)`` (a module-level function) or ``"module:function"``.
        data: An :class:`~archtune.data.Dataset` or a ``load_dataset`` spec.
        data_options: ``load_dataset`` keyword arguments, as sorted pairs.
        epochs: ``model.fit``'s epochs.
        batch_size: ``model.fit``'s batch size.
        fit_kwargs: More ``model.fit`` keyword arguments, as sorted pairs.
    """

    build: Callable[..., Any] | str
    data: Any
    data_options: tuple[tuple[str, Any], ...] = ()
    epochs: int = 10
    batch_size: int = 32
    fit_kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        name = (
            self.build if isinstance(self.build, str) else getattr(self.build, "__qualname__", "?")
        )
        return f"KerasTuner-style build {name}"

    def _function(self) -> Callable[..., Any]:
        if not isinstance(self.build, str):
            return self.build
        from archtune.execution import ObjectiveRef

        return ObjectiveRef(self.build).load()

    def _dataset(self) -> Dataset:
        from archtune.data import Dataset, load_cached

        if isinstance(self.data, Dataset):
            return self.data
        return load_cached((("dataset", self.data), *self.data_options))

    def __call__(
        self, config: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Replay ``build`` with ``config``, fit, and return the last epoch's metrics.

        Raises:
            ObjectiveError: ``build`` does not return a compiled Keras model (the study stops:
                every trial would fail the same way).
        """
        from archtune.interop._kt_hyperparameters import HyperParameters

        keras = require("keras", extra="keras", feature="tune_builder")
        reporter = reporter if reporter is not None else NullReporter()
        keras.utils.set_random_seed(reporter.seed if reporter.seed is not None else 0)
        keras.backend.clear_session()
        model = self._function()(HyperParameters.from_config(config))
        if not isinstance(model, keras.Model):
            raise ObjectiveError(
                f"build(hp) must return a keras.Model, got {type(model).__name__}"
            )
        if not getattr(model, "compiled", False):
            raise ObjectiveError(
                "build(hp) must compile the model before returning it, as KerasTuner requires: "
                "model.compile(optimizer=..., loss=..., metrics=['accuracy'])"
            )
        dataset = self._dataset()
        callback = reporter_callback(keras, reporter)
        kwargs = dict(self.fit_kwargs)
        user_callbacks = list(kwargs.pop("callbacks", []) or [])
        model.fit(
            dataset.x_train,
            dataset.y_train,
            validation_data=(dataset.x_val, dataset.y_val),
            epochs=self.epochs,
            batch_size=self.batch_size,
            callbacks=[callback, *user_callbacks],
            verbose=0,
            **kwargs,
        )
        metrics = dict(callback.last)
        if dataset.n_test:
            scores = model.evaluate(
                dataset.x_test, dataset.y_test, batch_size=1024, verbose=0, return_dict=True
            )
            metrics |= {f"test_{name}": float(value) for name, value in scores.items()}
        metrics["params"] = float(model.count_params())
        metrics["epochs"] = float(callback.epochs_run)
        if not any(name.startswith("val_") and math.isfinite(v) for name, v in metrics.items()):
            raise ObjectiveError(
                f"the fit reported no finite validation metric (got {sorted(metrics)}); compile "
                "with metrics=['accuracy'] and a loss Keras can compute on the data"
            )
        return metrics
