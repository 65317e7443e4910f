"""archtune's examples (importable, so configs can name `examples.quickstart:train`)."""
