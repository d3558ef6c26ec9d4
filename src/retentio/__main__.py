"""``python -m retentio``: the same as the ``retentio`` command."""

from retentio.cli import main

if __name__ == "__main__":
    main()
