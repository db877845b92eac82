"""The built-in synthetic video corpus: ``vidssl-data synth OUT_DIR --videos N --seed S``.

Textured shapes over a slowly panning textured background, one large main object (with an orientation marker) whose
motion defines one of ten action classes (time-reversed pairs), 0-2 smaller distractors, isoluminant colours, audio
tied to what is seen (pitch from colour, timbre from shape, loudness from speed, clicks at wall impacts),
DAVIS-layout masks and per-frame boxes. Real H.264 + AAC MP4 files written with PyAV; deterministic from the seed
whatever the number of worker processes. Design and measurements: docs/notes/synth.md.

Python API::

    from data_tools.synth import SynthConfig, generate_corpus, render_video

    video = render_video(SynthConfig(seed=0), index=3)   # frames [T,H,W,3], masks [T,H,W], audio [S], label...
    summary = generate_corpus("corpus", n_videos=100, seed=0)

Module map: config (settings, classes, seeding), colour (isoluminant hues), shapes (shapes, textures), motion
(trajectories), audio (sound), scene (planning one video), render (pixels, masks), encode (MP4 write and probe),
annotations (PNG masks, JPEGs, GT JSON), splits, layout (folder checks), worker (one video), corpus (all), cli.
"""

from data_tools.synth.config import CLASSES, GENERATOR_VERSION, REVERSED_CLASS, SynthConfig
from data_tools.synth.corpus import CorpusSummary, generate_corpus
from data_tools.synth.layout import SynthUsageError, is_complete
from data_tools.synth.render import RenderedVideo, render_video
from data_tools.synth.scene import Scene, plan_scene

__all__ = [
    "CLASSES",
    "GENERATOR_VERSION",
    "REVERSED_CLASS",
    "CorpusSummary",
    "RenderedVideo",
    "Scene",
    "SynthConfig",
    "SynthUsageError",
    "generate_corpus",
    "is_complete",
    "plan_scene",
    "render_video",
]
