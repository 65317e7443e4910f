"""Experiment configuration: the YAML schema, its validation and clear error messages."""

from archtune.config._checks import check_folder_writable, check_storage, check_writable
from archtune.config._duration import parse_duration
from archtune.config._load import build_experiment, load_config, read_config_file
from archtune.config._model import DEFAULT_STORAGE, BudgetConfig, ExperimentConfig

__all__ = [
    "DEFAULT_STORAGE",
    "BudgetConfig",
    "ExperimentConfig",
    "build_experiment",
    "check_folder_writable",
    "check_storage",
    "check_writable",
    "load_config",
    "parse_duration",
    "read_config_file",
]
