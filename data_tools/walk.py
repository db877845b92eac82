"""Finding the video files under a corpus root: what ``scan`` puts in its work list.

Rules (each one a bad-input case seen in real corpora):

* Files are picked by extension (``vidssl.data`` knows these: mp4, avi, mkv, webm, mov...); case-insensitive.
* Hidden files and folders (a leading dot) are skipped: they hold temporary outputs (``.x.partial.mp4``), journals
  and editor/OS litter (``.DS_Store``, ``._clip.mp4`` resource forks).
* A folder holding ``.vidssl-data-output`` (written by ``transcode`` and ``shard``) is skipped, as are the paths
  passed in ``exclude`` (``scan``'s own output): an output folder inside the input folder is never scanned.
* Symlinks are followed (files and folders); a folder reached twice through links (a loop) is walked once.
  Broken links are kept, so the manifest says they are broken instead of silently losing them.
* Names are kept as the filesystem gives them (unicode, spaces); undecodable bytes survive via surrogateescape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from data_tools.atomic import OUTPUT_MARKER

__all__ = ["FoundFile", "find_videos"]


@dataclass(frozen=True)
class FoundFile:
    """One candidate video.

    Attributes:
        rel: path relative to the root, ``/``-separated (the manifest's ``path`` and ``video_id``).
        path: absolute path (through the links as found).
        is_symlink: the file itself is a symbolic link.
        broken_link: the link points nowhere.
    """

    rel: str
    path: str
    is_symlink: bool = False
    broken_link: bool = False


def find_videos(root: str | os.PathLike[str], extensions: Iterable[str], *,
                exclude: Iterable[str | os.PathLike[str]] = ()) -> list[FoundFile]:
    """Video files under ``root``, sorted by relative path.

    Args:
        root: corpus folder.
        extensions: accepted extensions (with or without the dot, any case).
        exclude: files or folders never to report or enter (the tool's own outputs).

    Raises:
        NotADirectoryError: ``root`` is not a folder.
    """
    root_path = Path(root).absolute()
    if not root_path.is_dir():
        raise NotADirectoryError(f"{root}: not a folder (scan takes the corpus folder)")
    exts = {("." + e.lstrip(".")).lower() for e in extensions}
    excluded = {os.path.realpath(p) for p in exclude}
    seen_dirs: set[str] = set()
    found: list[FoundFile] = []
    for dirpath, dirnames, filenames in os.walk(root_path, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs or real in excluded or os.path.exists(os.path.join(dirpath, OUTPUT_MARKER)):
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in exts:
                continue
            full = os.path.join(dirpath, name)
            if os.path.realpath(full) in excluded:
                continue
            rel = Path(os.path.relpath(full, root_path)).as_posix()
            link = os.path.islink(full)
            found.append(FoundFile(rel=rel, path=full, is_symlink=link, broken_link=link and not os.path.exists(full)))
    # os.walk skips broken links to folders, but lists broken links to files: they are kept on purpose.
    return sorted(found, key=lambda f: f.rel)
