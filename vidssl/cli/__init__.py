"""Command-line entry points: ``vidssl <command>``; one module per command, dispatched by ``main.py``."""
