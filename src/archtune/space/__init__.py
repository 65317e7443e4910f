"""Search-space primitives and their YAML/JSON and Optuna forms."""

from archtune.space._params import Choice, Condition, Fixed, Float, Int, Param, Scalar
from archtune.space._space import Space, param_from_dict

__all__ = [
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Scalar",
    "Space",
    "param_from_dict",
]
