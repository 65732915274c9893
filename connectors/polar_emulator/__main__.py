"""`python -m connectors.polar_emulator [flags]`: the same as `polar-metrics emulator [flags]`."""

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the `emulator` command of the polar-metrics CLI with these flags."""
    # Imported here, not at module level: the emulator package itself never depends on the
    # CLI; only this entry point does (the CLI owns argument parsing and console output).
    from orchestration.cli import main as cli_main

    cli_main(["emulator", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
