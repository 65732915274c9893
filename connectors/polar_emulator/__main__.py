"""`python -m connectors.polar_emulator [flags]`: the same as `polar-metrics emulator [flags]`."""

from connectors.polar_emulator.cli import main

if __name__ == "__main__":
    main()
