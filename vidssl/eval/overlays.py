"""Pictures of tracking results: masks blended over frames, comparison sheets, GIFs, box overlays, success plots.

People judge propagated masks faster by looking than by reading J&F: :func:`comparison_sheet` puts the ground truth
and every method side by side on a few frames spread over the video, and :func:`write_gif` animates one method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["box_sheet", "comparison_sheet", "draw_boxes", "overlay_mask", "pick_frames", "plot_success", "write_gif"]


def overlay_mask(frame: np.ndarray, mask: np.ndarray, palette: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend object colours over a frame and draw each object's outline in full colour.

    Args:
        frame: ``uint8 [H, W, 3]`` RGB.
        mask: ``uint8 [H, W]`` object ids (0 = background, left untouched).
        palette: ``uint8 [256, 3]`` colour per id.
        alpha: opacity of the fill.

    Returns:
        ``uint8 [H, W, 3]``.
    """
    if frame.shape[:2] != mask.shape:
        raise ValueError(f"frame {frame.shape[:2]} and mask {mask.shape} differ in size")
    out = frame.astype(np.float32)
    colours = np.asarray(palette, np.float32)[mask]
    fg = mask > 0
    out[fg] = (1 - alpha) * out[fg] + alpha * colours[fg]
    edge = np.zeros_like(fg)  # object pixels with a 4-neighbour of another id: the outline, drawn opaque
    horiz, vert = mask[:, :-1] != mask[:, 1:], mask[:-1, :] != mask[1:, :]
    edge[:, :-1] |= horiz
    edge[:, 1:] |= horiz
    edge[:-1, :] |= vert
    edge[1:, :] |= vert
    edge &= fg
    out[edge] = colours[edge]
    return out.round().clip(0, 255).astype(np.uint8)


def pick_frames(num_frames: int, count: int = 6) -> list[int]:
    """``count`` frame indices spread evenly from the first to the last frame."""
    return sorted({round(x) for x in np.linspace(0, num_frames - 1, min(count, num_frames))})


def _thumb(image: np.ndarray, width: int) -> Image.Image:
    im = Image.fromarray(image)
    if im.width > width:
        im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.BILINEAR)
    elif im.width < width:  # tiny synthetic frames: enlarge without blurring the masks
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.NEAREST)
    return im


def comparison_sheet(
    path: str | Path,
    frames: np.ndarray,
    rows: Mapping[str, np.ndarray],
    palette: np.ndarray,
    *,
    frame_indices: Sequence[int] | None = None,
    scores: Mapping[str, float] | None = None,
    title: str = "",
    thumb_width: int = 240,
) -> Path:
    """One PNG: a row per method (ground truth first), a column per sampled frame, masks over the frames.

    Args:
        path: output PNG.
        frames: ``uint8 [T, H, W, 3]``.
        rows: row label → ``uint8 [T, H, W]`` masks (ground truth may be sparse: missing frames are all 0).
        palette: ``uint8 [256, 3]``.
        frame_indices: columns (default: 6 frames spread over the video).
        scores: row label → J&F, printed next to the label.
        title: text above the grid.
        thumb_width: width of each cell in pixels.
    """
    idx = list(frame_indices) if frame_indices is not None else pick_frames(len(frames))
    cells = [[_thumb(overlay_mask(frames[t], masks[t], palette), thumb_width) for t in idx] for masks in rows.values()]
    cw, ch = cells[0][0].size
    label_w, head = 150, 24 + (18 if title else 0)
    sheet = Image.new("RGB", (label_w + cw * len(idx), head + ch * len(cells)), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((6, 4), title, fill="black")
    for c, t in enumerate(idx):
        draw.text((label_w + c * cw + 4, head - 18), f"frame {t}", fill="black")
    for r, (name, row) in enumerate(zip(rows, cells)):
        text = name if not scores or name not in scores else f"{name}\nJ&F {scores[name]:.3f}"
        draw.multiline_text((6, head + r * ch + 6), text, fill="black")
        for c, cell in enumerate(row):
            sheet.paste(cell, (label_w + c * cw, head + r * ch))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def write_gif(path: str | Path, frames: np.ndarray, masks: np.ndarray, palette: np.ndarray, *, fps: float = 8.0,
              width: int = 320) -> Path:  # fmt: skip
    """Animated GIF of ``masks [T, H, W]`` over ``frames [T, H, W, 3]``, resized to ``width`` pixels."""
    images = [_thumb(overlay_mask(f, m, palette), width) for f, m in zip(frames, masks)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path


def draw_boxes(frame: np.ndarray, boxes: Mapping[str, np.ndarray], scale: int = 4, labels: bool = True) -> Image.Image:
    """A frame enlarged ``scale`` times with boxes ``(x0, y0, x1, y1)`` in frame pixels (NaN = none), named."""
    colours = ["lime", "red", "cyan", "yellow", "magenta"]
    im = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(im)
    for i, (name, box) in enumerate(boxes.items()):
        if np.isnan(box).any():
            continue
        colour = colours[i % len(colours)]
        draw.rectangle([float(v) * scale for v in box], outline=colour, width=2)
        if labels:
            draw.text((float(box[0]) * scale + 2, float(box[1]) * scale + 1), name, fill=colour)
    return im


def box_sheet(
    path: str | Path,
    videos: Mapping[str, np.ndarray],
    boxes: Mapping[str, Mapping[str, np.ndarray]],
    *,
    columns: int = 6,
    scale: int = 3,
) -> Path:
    """One PNG: a row per video, ``columns`` frames spread over it, every tracker's box drawn (ground truth first).

    Args:
        path: output PNG.
        videos: video name → ``uint8 [T, H, W, 3]``.
        boxes: video name → (tracker name → ``[T, 4]`` boxes).
        columns: frames per row.
        scale: enlargement of the (small) frames.
    """
    rows = []
    for name, frames in videos.items():
        idx = pick_frames(len(frames), columns)
        # Names only in the first column: the colours say the rest.
        rows.append([draw_boxes(frames[t], {k: v[t] for k, v in boxes[name].items()}, scale, c == 0)
                     for c, t in enumerate(idx)])  # fmt: skip
    cw, ch = rows[0][0].size
    sheet = Image.new("RGB", (cw * max(len(r) for r in rows), ch * len(rows)), "white")
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            sheet.paste(cell, (c * cw, r * ch))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def plot_success(path: str | Path, curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "") -> Path:
    """OTB-style success plot: success rate against the IoU threshold, AUC in the legend.

    Args:
        path: output PNG.
        curves: name → ``(thresholds [K], success rates [K])``.
        title: plot title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for name, (thr, rate) in curves.items():
        ax.plot(thr, rate, label=f"{name} (AUC {float(np.mean(rate)):.3f})")
    ax.set_xlabel("IoU threshold")
    ax.set_ylabel("success rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
