"""``python -m vidssl`` is the ``vidssl`` command (and what ``torchrun -m vidssl`` runs)."""

from vidssl.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
