"""A reference to the user's objective that a worker process can load by itself.

A function of an importable module travels by reference (``module:function``) and is imported
by the worker. A function the worker could not import (one defined in ``__main__`` of a notebook,
``python -c``, a REPL or a script, a lambda, a closure, a callable object of a class defined
there) travels by value, pickled with cloudpickle as Ray does (see :meth:`ObjectiveRef.by_value`).
"""

from __future__ import annotations

import importlib
import inspect
import io
import pickle
import pickletools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archtune._errors import ObjectiveError

__all__ = ["ObjectiveFn", "ObjectiveRef"]

ObjectiveFn = Callable[..., Any]
"""``train(config, reporter) -> metrics`` (or ``train(config) -> metrics``)."""


@dataclass(frozen=True)
class ObjectiveRef:
    """The objective as ``"module:function"`` text or a picklable callable.

    Attributes:
        target: ``"package.module:function"`` or a module-level function.
        search_path: Directories put first on ``sys.path`` before importing ``target`` (the
            current directory, as ``python -m`` does).
        fallback_path: Directories appended to ``sys.path``, so they are searched after the
            installed packages: the config file's folder. A module there (``yaml.py``,
            ``numpy.py``) never shadows an installed one; a module only there is still found.
    """

    target: str | ObjectiveFn
    search_path: tuple[str, ...] = ()
    fallback_path: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle a function the worker cannot import by value (cloudpickle), others as usual."""
        if self.by_value:
            import cloudpickle

            blob = cloudpickle.dumps(self.target)
            return (_load_by_value, (blob, self.search_path, self.fallback_path))
        return (ObjectiveRef, (self.target, self.search_path, self.fallback_path))

    @property
    def by_value(self) -> bool:
        """Whether the objective must travel by value: a worker process cannot import it.

        True for a callable that plain pickle refuses (a lambda, a closure, a local class's
        instance) or whose pickle names ``__main__`` (anything defined in a notebook cell,
        ``python -c``, code read from stdin, an ``exec``'d cell, or a script): workers never
        run the driver's ``__main__``, so they could not find it there.
        """
        if isinstance(self.target, str):
            return False
        try:
            blob = pickle.dumps(self.target)
        except Exception:
            return True
        return _names_main(blob)

    @property
    def name(self) -> str:
        """A readable name: ``module:function``."""
        if isinstance(self.target, str):
            return self.target
        qualname = getattr(self.target, "__qualname__", None)
        if qualname is None:  # a callable object, e.g. archtune's built-in training
            return str(self.target)
        return f"{getattr(self.target, '__module__', '?')}:{qualname}"

    def load(self) -> ObjectiveFn:
        """Import (or return) the function.

        Raises:
            ObjectiveError: it cannot be imported or is not callable.
        """
        if not isinstance(self.target, str):
            fn = self.target
        else:
            module_name, sep, attr = self.target.partition(":")
            if not sep or not module_name or not attr:
                raise ObjectiveError(
                    f"objective must be 'module:function', e.g. 'examples.quickstart:train', "
                    f"got {self.target!r}"
                )
            extend_sys_path(self.search_path, self.fallback_path)
            try:
                found: Any = importlib.import_module(module_name)
                for part in attr.split("."):
                    found = getattr(found, part)
            except Exception as exc:  # any error while importing user code is the user's
                raise ObjectiveError(
                    f"objective {self.target!r} cannot be imported: {type(exc).__name__}: {exc}"
                ) from exc
            fn = found
        if not callable(fn):
            raise ObjectiveError(f"objective {self.name!r} must be callable, got {fn!r}")
        return fn

    def check(self) -> None:
        """Load the objective once here and check it can reach a worker process.

        Raises:
            ObjectiveError: not importable, not picklable, or with the wrong signature.
        """
        fn = self.load()
        if not isinstance(self.target, str):
            try:
                pickle.loads(pickle.dumps(self))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                raise ObjectiveError(
                    f"objective {self.name!r} cannot be sent to a worker process ({reason}); "
                    "make what it uses picklable (open files, connections and locks are not), "
                    "or pass a function of an importable module as 'module:function'"
                ) from exc
        accepts_reporter(fn)


def _load_by_value(
    blob: bytes, search_path: tuple[str, ...], fallback_path: tuple[str, ...]
) -> ObjectiveRef:
    """Unpickle an objective sent by value (its modules are found on the driver's path)."""
    import cloudpickle

    extend_sys_path(search_path, fallback_path)
    return ObjectiveRef(cloudpickle.loads(blob), search_path, fallback_path)


def _names_main(blob: bytes) -> bool:
    """Whether a pickle refers to a global of ``__main__`` (a function, class or object)."""
    try:
        for _, arg, _ in pickletools.genops(io.BytesIO(blob)):
            if isinstance(arg, str) and (arg == "__main__" or arg.startswith("__main__ ")):
                return True
    except Exception:
        return True
    return False


def extend_sys_path(first: tuple[str, ...], last: tuple[str, ...]) -> None:
    """Put ``first`` at the front of ``sys.path`` and ``last`` at its end (each entry once)."""
    for entry in reversed(first):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    for entry in last:
        if entry not in sys.path:
            sys.path.append(entry)


def accepts_reporter(fn: ObjectiveFn) -> bool:
    """Whether ``fn`` takes ``(config, reporter)``; ``False`` means it takes ``(config)``.

    Raises:
        ObjectiveError: it cannot be called with one or two positional arguments.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    for n_args in (2, 1):
        try:
            signature.bind(*range(n_args))
        except TypeError:
            continue
        return n_args == 2
    raise ObjectiveError(
        f"objective {getattr(fn, '__qualname__', fn)!r} must accept (config, reporter) or "
        f"(config), got the signature {signature}"
    )
