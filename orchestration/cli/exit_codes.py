"""Exit codes of the pipeline commands (documented in `refresh --help` and the README)."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 3  # some organizations or connections failed and kept their previous data
