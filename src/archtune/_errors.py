"""The exceptions archtune raises.

Every error derives from :class:`ArchtuneError` and also from the standard-library type that
callers already catch (``ValueError``, ``ImportError``, ...), as scikit-learn's
``NotFittedError(ValueError, AttributeError)`` does.

Messages share one shape: ``<where>: <field> must be <what>, got <value>`` followed, when there
is one, by the fix.
"""

from __future__ import annotations

__all__ = [
    "ArchtuneError",
    "CheckpointWarning",
    "ConfigError",
    "DivergedError",
    "InfeasibleError",
    "InvalidSpaceError",
    "MissingDependencyError",
    "ObjectiveError",
    "StudyStateError",
]


class ArchtuneError(Exception):
    """Base class of every error archtune raises on purpose."""


class CheckpointWarning(UserWarning):
    """A checkpoint was not kept, or could not be used; the trial goes on without it."""


class ConfigError(ArchtuneError, ValueError):
    """An experiment's configuration (a file or :func:`archtune.tune` arguments) is invalid."""


class InvalidSpaceError(ConfigError):
    """A search space is malformed: bounds, types, conditions.

    Attributes:
        path: The dotted field path of the offending entry, e.g. ``"space.lr.low"``.
        reason: What is wrong with it, e.g. ``"must be > 0 when log is true, got 0"``.
        call: The constructor call as given, e.g. ``"Float(low=0, high=1, log=True)"``, when
            a parameter was built directly (not from a named config entry); it starts the
            message.
    """

    def __init__(self, path: str, reason: str, call: str = "") -> None:
        self.path = path
        self.reason = reason
        self.call = call
        message = f"{path} {reason}" if path else reason
        super().__init__(f"{call}: {message}" if call else message)

    def __reduce__(self) -> tuple[type[InvalidSpaceError], tuple[str, str, str]]:
        return (type(self), (self.path, self.reason, self.call))  # it crosses process pipes


class InfeasibleError(ArchtuneError, ValueError):
    """A configuration that cannot be trained (impossible shapes, a broken constraint).

    The search records it with this reason and never trains it.
    """


class ObjectiveError(ConfigError):
    """The objective cannot be imported, called, or does not return the metrics it must."""


class StudyStateError(ArchtuneError, RuntimeError):
    """The study in the storage is not in a state the command can work on.

    For example: running a study that already exists without ``--resume``.
    """


class StorageLostError(StudyStateError):
    """The study's storage stopped answering during a run (a database server went down).

    What the storage kept before is kept; trials that were running run again on resume.
    """


class MissingDependencyError(ArchtuneError, ImportError):
    """An optional dependency is missing; the message is the command that installs it."""


class DivergedError(ArchtuneError, FloatingPointError):
    """The training loss became NaN or infinite.

    Attributes:
        epoch: The epoch (1-based) in which it happened.
        step: The step within that epoch (0-based).
        loss: The loss value (``nan`` or ``inf``).
        lr: The learning rate of that step.
    """

    def __init__(self, *, epoch: int, step: int, loss: float, lr: float) -> None:
        self.epoch = epoch
        self.step = step
        self.loss = loss
        self.lr = lr
        super().__init__(
            f"training diverged: the loss became {loss} at epoch {epoch}, step {step} "
            f"(lr={lr:.3g}). Lower the learning rate, add warm-up (warmup_epochs) or "
            "gradient clipping (grad_clip_norm)."
        )
