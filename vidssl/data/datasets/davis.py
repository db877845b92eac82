"""DAVIS-layout folders: frames, palette or binary masks (dense or sparse), and indexed-PNG prediction writing.

Layouts accepted (``<res>`` is e.g. ``480p``; the resolution level is optional)::

    ROOT/JPEGImages[/<res>]/<seq>/00000.jpg ...      frames (.jpg, .jpeg or .png), sorted by name
    ROOT/Annotations[/<res>]/<seq>/00000.png ...     masks, matched to frames by file stem

``images/`` and ``masks/`` are accepted in place of ``JPEGImages/`` and ``Annotations/`` (the layout of many
VOS example folders). Masks may be:

* palette ("P") PNGs whose pixel values are object ids, 0 = background (DAVIS-2017, YouTube-VOS). Value 255 is
  mapped to background, as the official ``davis2017-evaluation`` does (``_get_all_elements``);
* binary 0/255 grayscale PNGs (DAVIS-2016): 255 becomes object 1;
* RGB PNGs painted with the DAVIS (PASCAL VOC) colour map: colours are mapped back to ids.

Annotations may be sparse (not every frame has a PNG); :attr:`DavisSequence.annotated_frames` lists those that do.
Object ids come from the first annotated frame (DAVIS semi-supervised protocol: PAPERS.md §6.4). A mask whose size
differs from its frame (e.g. one pixel narrower) is resized with nearest-neighbour interpolation and a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "DavisLayoutError",
    "DavisSequence",
    "davis_palette",
    "find_sequences",
    "write_indexed_png",
]

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
_IMAGE_DIRS = ("JPEGImages", "images")
_MASK_DIRS = ("Annotations", "masks")
_VOID = 255


class DavisLayoutError(ValueError):
    """A folder that does not follow the DAVIS layout, or a mask that cannot be read; the message names the file."""


def davis_palette() -> np.ndarray:
    """The 256-colour PASCAL VOC colour map that DAVIS annotations use: ``uint8 [256, 3]`` (id 1 = dark red)."""
    ids = np.arange(256)
    pal = np.zeros((256, 3), dtype=np.int64)
    c = ids.copy()
    for bit in range(8):  # bit-interleaved colour map (VOC devkit ``labelcolormap``)
        for ch in range(3):
            pal[:, ch] |= ((c >> ch) & 1) << (7 - bit)
        c >>= 3
    return pal.astype(np.uint8)


@dataclass(frozen=True)
class DavisSequence:
    """One sequence: its frame files and its (possibly sparse) annotation files.

    Attributes:
        name: sequence name (the folder name).
        frame_paths: frame files in temporal order.
        mask_paths: frame index → annotation file, for the annotated frames only.
    """

    name: str
    frame_paths: tuple[Path, ...]
    mask_paths: Mapping[int, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.frame_paths:
            raise DavisLayoutError(f"sequence {self.name!r} has no frames")
        bad = [t for t in self.mask_paths if not 0 <= t < len(self.frame_paths)]
        if bad:
            raise DavisLayoutError(f"sequence {self.name!r}: annotations for frames {bad} outside the frame range")

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return len(self.frame_paths)

    @property
    def annotated_frames(self) -> list[int]:
        """Sorted indices of the frames that have an annotation file."""
        return sorted(self.mask_paths)

    @property
    def first_annotated(self) -> int:
        """Index of the first annotated frame (the reference for semi-supervised propagation)."""
        if not self.mask_paths:
            raise DavisLayoutError(f"sequence {self.name!r} has no annotation files")
        return self.annotated_frames[0]

    @cached_property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames (read from the first frame's header)."""
        with Image.open(self.frame_paths[0]) as im:
            return im.height, im.width

    @cached_property
    def object_ids(self) -> tuple[int, ...]:
        """Object ids (> 0) present in the first annotated frame, sorted."""
        ids = np.unique(self.read_mask(self.first_annotated))
        return tuple(int(i) for i in ids if i != 0)

    @cached_property
    def all_object_ids(self) -> tuple[int, ...]:
        """Object ids in any annotation (objects may appear later in sparse, YouTube-VOS-style annotations)."""
        found: set[int] = set()
        for t in self.annotated_frames:
            found.update(int(i) for i in np.unique(self.read_mask(t)) if i != 0)
        return tuple(sorted(found))

    @cached_property
    def palette(self) -> np.ndarray:
        """``uint8 [256, 3]``: the first annotation's palette when it has one, else the DAVIS colour map."""
        if self.mask_paths:
            with Image.open(self.mask_paths[self.first_annotated]) as im:
                raw = im.getpalette() if im.mode == "P" else None
            if raw:
                pal = np.zeros((256, 3), dtype=np.uint8)
                arr = np.asarray(raw, dtype=np.uint8).reshape(-1, 3)[:256]
                pal[: len(arr)] = arr
                return pal
        return davis_palette()

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``uint8 [H, W, 3]`` RGB."""
        with Image.open(self.frame_paths[index]) as im:
            return np.asarray(im.convert("RGB"))

    def read_frames(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Frames (all by default) as ``uint8 [T, H, W, 3]`` RGB."""
        idx = range(self.num_frames) if indices is None else indices
        frames = [self.read_frame(i) for i in idx]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise DavisLayoutError(f"sequence {self.name!r}: frames have different sizes {sorted(shapes)}")
        return np.stack(frames)

    def read_mask(self, index: int) -> np.ndarray:
        """Annotation of frame ``index`` as ``uint8 [H, W]`` object ids at the frame's size (0 = background).

        Raises:
            KeyError: the frame has no annotation.
            DavisLayoutError: the file is not a palette, binary or DAVIS-coloured mask.
        """
        path = self.mask_paths[index]
        mask = read_mask_file(path)
        h, w = self.size
        if mask.shape != (h, w):
            warnings.warn(
                f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but its frame is {w}x{h}; resized (nearest)",
                stacklevel=2,
            )
            mask = np.asarray(Image.fromarray(mask).resize((w, h), Image.Resampling.NEAREST))
        return mask

    def read_annotations(self) -> dict[int, np.ndarray]:
        """All annotations: frame index → ``uint8 [H, W]`` object ids."""
        return {t: self.read_mask(t) for t in self.annotated_frames}


def read_mask_file(path: str | Path) -> np.ndarray:
    """Decode one annotation PNG to ``uint8 [H, W]`` object ids (rules in the module docstring)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            arr = np.asarray(im)
    except OSError as err:
        raise DavisLayoutError(f"{path}: cannot read mask ({err})") from err
    if mode == "P":
        out = arr.astype(np.uint8)
        out[out == _VOID] = 0
        return out
    if arr.ndim == 3:  # RGB(A) mask painted with the DAVIS colour map
        return _colours_to_ids(arr[..., :3], path)
    if mode == "1":
        return arr.astype(np.uint8)
    values = np.unique(arr)
    if values.max(initial=0) > 255:
        raise DavisLayoutError(f"{path}: mask values up to {values.max()} do not fit object ids 0..254")
    if set(values.tolist()) <= {0, 255}:  # DAVIS-2016 binary masks: 255 is the object, not "void"
        return (arr > 0).astype(np.uint8)
    out = arr.astype(np.uint8)
    out[out == _VOID] = 0
    return out


def _colours_to_ids(rgb: np.ndarray, path: Path) -> np.ndarray:
    pal = davis_palette().astype(np.int64)
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    lut = {int((r << 16) | (g << 8) | b): i for i, (r, g, b) in enumerate(pal)}
    uniq, inverse = np.unique(code, return_inverse=True)
    unknown = [int(u) for u in uniq if int(u) not in lut]
    if unknown:
        shown = ", ".join(f"#{u:06x}" for u in unknown[:5])
        raise DavisLayoutError(f"{path}: RGB mask has colours outside the DAVIS palette ({shown}); save it as 'P' mode")
    ids = np.array([lut[int(u)] for u in uniq], dtype=np.uint8)
    out = ids[inverse].reshape(code.shape)
    out[out == _VOID] = 0
    return out


def write_indexed_png(path: str | Path, mask: np.ndarray, palette: np.ndarray | None = None) -> Path:
    """Write ``uint8 [H, W]`` object ids as a palette PNG (the DAVIS submission format).

    Args:
        path: output file; parent folders are created.
        mask: object ids.
        palette: ``uint8 [256, 3]`` colours (default: the DAVIS colour map).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="P")
    image.putpalette((davis_palette() if palette is None else np.asarray(palette, np.uint8)).reshape(-1).tolist())
    image.save(path)
    return path


def _pick(root: Path, names: Sequence[str], what: str) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise DavisLayoutError(f"{root}: no {what} folder (looked for {', '.join(names)})")


def _with_resolution(folder: Path, resolution: str | None) -> Path:
    """``folder/<res>`` when it exists (DAVIS), else ``folder`` itself (no resolution level)."""
    if resolution and (folder / resolution).is_dir():
        return folder / resolution
    return folder


def find_sequences(
    root: str | Path,
    *,
    resolution: str | None = "480p",
    sequences: Sequence[str] | None = None,
    require_annotations: bool = True,
) -> list[DavisSequence]:
    """List the sequences of a DAVIS-layout folder.

    Args:
        root: folder holding ``JPEGImages/`` (or ``images/``) and ``Annotations/`` (or ``masks/``).
        resolution: resolution level to use when present (``480p``, ``Full-Resolution``); skipped when absent.
        sequences: names to keep (in this order); default: every sequence folder, sorted.
        require_annotations: drop (with a warning) sequences without any annotation file.

    Returns:
        The sequences.

    Raises:
        DavisLayoutError: the layout is not recognised, or a requested sequence is missing.
    """
    root = Path(root)
    if not root.is_dir():
        raise DavisLayoutError(f"{root}: not a folder")
    image_root = _with_resolution(_pick(root, _IMAGE_DIRS, "frame"), resolution)
    mask_root = _with_resolution(_pick(root, _MASK_DIRS, "annotation"), resolution)
    names = sorted(p.name for p in image_root.iterdir() if p.is_dir()) if sequences is None else list(sequences)
    missing = [n for n in names if not (image_root / n).is_dir()]
    if missing:
        raise DavisLayoutError(f"{image_root}: sequences not found: {', '.join(missing)}")
    out = []
    for name in names:
        frames = sorted(p for p in (image_root / name).iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
        stems = {p.stem: i for i, p in enumerate(frames)}
        masks: dict[int, Path] = {}
        mask_dir = mask_root / name
        for p in sorted(mask_dir.glob("*.png")) if mask_dir.is_dir() else []:
            if p.stem not in stems:
                warnings.warn(f"{p}: no frame named {p.stem}.* in {image_root / name}; ignored", stacklevel=2)
                continue
            masks[stems[p.stem]] = p
        if not frames:
            warnings.warn(f"{image_root / name}: no frames; sequence skipped", stacklevel=2)
            continue
        if require_annotations and not masks:
            warnings.warn(f"{mask_dir}: no annotation PNGs; sequence {name!r} skipped", stacklevel=2)
            continue
        out.append(DavisSequence(name, tuple(frames), masks))
    return out
