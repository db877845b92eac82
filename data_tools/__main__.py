"""``python -m data_tools`` is the ``vidssl-data`` command."""

from data_tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
