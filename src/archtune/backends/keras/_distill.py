"""The Keras loss of a distilled classifier: :class:`DistillationLoss` (registered, so that a
model compiled with it saves and loads)."""

from __future__ import annotations

from typing import Any

from archtune.backends.keras._keras import import_keras

keras = import_keras()
ops = keras.ops
Loss: Any = keras.losses.Loss

__all__ = ["DistillationLoss"]


@keras.saving.register_keras_serializable(package="archtune")
class DistillationLoss(Loss):  # type: ignore[misc]
    """``alpha * T**2 * KL(teacher || student) + (1 - alpha) * cross_entropy``, per sample.

    The targets are ``(batch, 2 * n_classes)``: the one-hot labels, then the teacher's
    log-probabilities at temperature ``T`` (``log_softmax(teacher_logits / T)``), so that
    ``model.fit`` shuffles them with the inputs. The prediction is the student's logits. The
    cross-entropy takes ``label_smoothing`` as ``CategoricalCrossentropy`` does (PyTorch's);
    a term whose weight is 0 is left out.
    """

    def __init__(
        self,
        n_classes: int,
        temperature: float = 4.0,
        alpha: float = 0.7,
        label_smoothing: float = 0.0,
        name: str = "distillation",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        n, t, a = self.n_classes, self.temperature, self.alpha
        terms = []
        if a > 0:
            teacher = y_true[:, n:]
            student = ops.log_softmax(y_pred / t, axis=-1)
            kl = ops.sum(ops.exp(teacher) * (teacher - student), axis=-1)
            terms.append(a * t * t * kl)
        if a < 1:
            hard = keras.losses.categorical_crossentropy(
                y_true[:, :n], y_pred, from_logits=True, label_smoothing=self.label_smoothing
            )
            terms.append(hard if a == 0 else (1.0 - a) * hard)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            n_classes=self.n_classes,
            temperature=self.temperature,
            alpha=self.alpha,
            label_smoothing=self.label_smoothing,
        )
        return config
