"""The corpus folder: its fixed layout, the completion marker, and the checks before anything is written.

Layout (other tools code against it)::

    OUT/manifest.csv               one row per video (vidssl.data.manifest columns + gt, annotations, davis_frames)
    OUT/classes.txt                class names in label_index order
    OUT/splits/{train,val,test}.txt
    OUT/videos/<id>.mp4            H.264 yuv420p + AAC mono
    OUT/gt/<id>.json               labels, impacts, objects, per-frame boxes/centroids
    OUT/davis/Annotations/<id>/00000.png ...    palette PNG masks (DAVIS layout)
    OUT/davis/JPEGImages/<id>/00000.jpg ...     decoded frames (test split by default)
    OUT/synth_config.json          all generator parameters (written first: marks the folder as ours)
    OUT/DONE                       written last; without it the corpus is incomplete
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from data_tools.synth.config import GENERATOR

__all__ = ["CONFIG_FILE", "MARKER", "SynthUsageError", "is_complete", "looks_like_corpus", "prepare_out_dir"]

CONFIG_FILE = "synth_config.json"
MARKER = "DONE"


class SynthUsageError(ValueError):
    """Bad arguments or an unusable output folder (the CLI exits with code 2)."""


def looks_like_corpus(folder: Path) -> bool:
    """Whether ``folder`` holds a ``synth_config.json`` written by this generator (complete or not)."""
    try:
        data = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def is_complete(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is a finished synthetic corpus (its ``DONE`` marker exists)."""
    folder = Path(folder)
    return looks_like_corpus(folder) and (folder / MARKER).is_file()


def _wipe(folder: Path) -> None:
    """Empty a corpus folder; the marker goes first so a crash midway never leaves a complete-looking corpus."""
    (folder / MARKER).unlink(missing_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare_out_dir(out: str | os.PathLike[str], overwrite: bool) -> Path:
    """Check and create the output folder; empty it when ``overwrite`` and it is one of our corpora.

    Args:
        out: the corpus folder.
        overwrite: allow regenerating into a folder that already holds a (complete or incomplete) corpus.

    Returns:
        The folder, existing, writable and empty.

    Raises:
        SynthUsageError: the path is a file, not writable, or not empty (without ``overwrite``, or with it when the
            folder is not a synthetic corpus: we never delete what we did not write).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SynthUsageError(f"{out} is a file, not a folder; choose a new or empty folder for the corpus")
    if out.is_dir() and any(out.iterdir()):
        ours = looks_like_corpus(out)
        if not ours:
            if overwrite:
                raise SynthUsageError(
                    f"{out} is not empty and is not a vidssl synthetic corpus (no {CONFIG_FILE}); --overwrite only "
                    "replaces synthetic corpora, so choose a new or empty folder"
                )
            raise SynthUsageError(f"{out} is not empty; choose a new or empty folder")
        if not overwrite:
            if (out / MARKER).is_file():
                raise SynthUsageError(
                    f"{out} already holds a complete synthetic corpus; pass --overwrite to regenerate it, "
                    "or choose another folder"
                )
            raise SynthUsageError(
                f"{out} holds an incomplete synthetic corpus (no {MARKER} marker: an interrupted run?); "
                "pass --overwrite to regenerate it"
            )
        try:
            _wipe(out)
        except OSError as err:
            raise SynthUsageError(f"could not empty {out} for --overwrite: {err}") from err
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise SynthUsageError(f"cannot write to {out} ({err.strerror or err}); choose a writable folder") from err
    return out
