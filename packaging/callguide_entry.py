"""PyInstaller entry point: the `callguide` command line (so `callguide call` and
`callguide workbench` work from the bundle)."""

from callguide.cli import main

if __name__ == "__main__":
    main()
