"""archtune's version, in a module of its own so that subpackages need not import the root."""

__version__ = "0.1.0"
