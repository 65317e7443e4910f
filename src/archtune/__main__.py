"""``python -m archtune``."""

from archtune.cli import main

main()
