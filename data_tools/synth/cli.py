"""Generate the built-in synthetic corpus: H.264 + AAC videos with action labels, masks, boxes and impact times.

Each video shows textured shapes over a slowly panning textured background. The main (largest) object's motion
defines one of ten action classes in time-reversed pairs (move right/left, down/up, grow/shrink, rotate cw/ccw,
orbit cw/ccw); a dark dot marks its heading so spins show. 0-2 smaller distractors bounce around. Colours are
isoluminant, so gray frames do not tell colours. Each object hums (pitch from colour, timbre from shape, loudness
from speed) and every wall bounce clicks at its frame. The same --seed gives the same corpus (labels, masks, frames,
files) whatever --workers.

Examples:
  vidssl-data synth corpus                        # 1,000 videos, 64x64, 48 frames at 16 fps (a couple of minutes)
  vidssl-data synth tiny --videos 20 --frames 24  # a quick one for experiments
  vidssl-data synth ctrl --static                 # shortcut control: no motion at all
  vidssl-data synth ctrl --mismatched-audio       # shortcut control: audio from another video
"""

from __future__ import annotations

import argparse
import sys

from data_tools.synth.config import SynthConfig
from data_tools.synth.corpus import DAVIS_FRAMES, default_workers, generate_corpus
from data_tools.synth.layout import MARKER, SynthUsageError
from data_tools.synth.splits import parse_fractions

HELP = "generate the built-in synthetic corpus (videos, audio, masks, labels)"
_DEFAULT = SynthConfig()


def _size(text: str) -> tuple[int, int]:
    """``64`` or ``96x64`` -> (width, height)."""
    try:
        parts = [int(x) for x in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or WxH (e.g. 64 or 96x64), got {text!r}") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"size must be N or WxH (e.g. 64 or 96x64), got {text!r}")
    return parts[0], parts[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the synth options to ``parser``."""
    parser.add_argument("out_dir", metavar="OUT_DIR", help="corpus folder to create (new or empty)")
    parser.add_argument("--videos", type=int, default=1000, metavar="N", help="number of videos (default: 1000)")
    parser.add_argument(
        "--seed", type=int, default=0, help="corpus seed (default: 0); change it for an independent corpus"
    )
    parser.add_argument(
        "--size", type=_size, default=(_DEFAULT.width, _DEFAULT.height), metavar="N|WxH",
        help="frame size (default: 64). Objects and speeds scale with it; tiny CPU models are tuned for 64",
    )  # fmt: skip
    parser.add_argument(
        "--frames", type=int, default=_DEFAULT.num_frames, metavar="T",
        help="frames per video (default: 48 = 3 s). More frames = longer clips for wider temporal sampling",
    )  # fmt: skip
    parser.add_argument("--fps", type=float, default=_DEFAULT.fps, help="frame rate (default: 16)")
    parser.add_argument(
        "--gop", type=int, default=_DEFAULT.gop,
        help="keyframe interval (default: 250, x264's default, like raw camera files). Lower it (e.g. 8) to make "
        "seeking cheap, as `vidssl-data transcode` would",
    )  # fmt: skip
    parser.add_argument(
        "--crf", type=float, default=_DEFAULT.crf,
        help="x264 quality (default: 18; lower = larger files, higher = textures blur away)",
    )  # fmt: skip
    parser.add_argument("--preset", default=_DEFAULT.preset, help="x264 speed preset (default: veryfast)")
    parser.add_argument(
        "--sample-rate", type=int, default=_DEFAULT.sample_rate, help="audio rate in Hz (default: 16000)"
    )
    parser.add_argument(
        "--max-distractors", type=int, default=_DEFAULT.max_distractors, metavar="K",
        help="each video has 0..K distractor objects (default: 2; 0 makes tracking and AV correspondence easier)",
    )  # fmt: skip
    parser.add_argument(
        "--splits", default="0.7,0.1,0.2", metavar="TRAIN,VAL,TEST",
        help="split fractions, stratified by class (default: 0.7,0.1,0.2)",
    )  # fmt: skip
    parser.add_argument(
        "--davis-frames", choices=DAVIS_FRAMES, default="test",
        help="which videos also get decoded JPEG frames under davis/JPEGImages for label propagation "
        "(default: test; 'all' adds ~120 KB per video)",
    )  # fmt: skip
    parser.add_argument(
        "--static", action="store_true",
        help="shortcut control: every frame is frame 0 (temporal pretext tasks must score chance on it)",
    )  # fmt: skip
    parser.add_argument(
        "--mismatched-audio", action="store_true",
        help="shortcut control: each video carries another video's audio (AV correspondence must score chance)",
    )  # fmt: skip
    parser.add_argument(
        "--neutral-background", action="store_true",
        help="gray backgrounds instead of one of the eight hues (same scenes otherwise). Use it for audio-visual "
        "correspondence on a few hundred videos: a hued background is a per-video key that AVC memorises",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None,
        help=f"worker processes (default: CPUs available, here {default_workers()}); results do not depend on it",
    )  # fmt: skip
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing (complete or interrupted) synthetic corpus in OUT_DIR; other folders are refused",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Generate the corpus; exit code 0 on success, 2 on bad arguments or an unusable OUT_DIR."""
    try:
        if args.workers is not None and args.workers < 1:
            raise SynthUsageError(f"--workers must be >= 1, got {args.workers}")
        try:
            splits = parse_fractions(args.splits)
        except ValueError as err:
            raise SynthUsageError(str(err)) from None
        config = SynthConfig(
            seed=args.seed,
            width=args.size[0],
            height=args.size[1],
            num_frames=args.frames,
            fps=args.fps,
            sample_rate=args.sample_rate,
            max_distractors=args.max_distractors,
            static=args.static,
            mismatched_audio=args.mismatched_audio,
            neutral_background=args.neutral_background,
            gop=args.gop,
            crf=args.crf,
            preset=args.preset,
        )
        summary = generate_corpus(
            args.out_dir,
            args.videos,
            args.seed,
            config=config,
            splits=splits,
            davis_frames=args.davis_frames,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except SynthUsageError as err:
        print(f"vidssl-data synth: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\nvidssl-data synth: interrupted; {args.out_dir} is incomplete (no {MARKER} marker). "
            "Rerun with --overwrite to regenerate it.",
            file=sys.stderr,
        )
        return 130
    print(summary.line())
    return 0
