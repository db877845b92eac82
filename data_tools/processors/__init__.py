"""Per-file operations run inside worker processes: one job each, errors returned as values.

``probe`` (scan), ``decode_check`` (verify), ``encode`` (transcode), ``motion_profile`` (motion). Each exposes a
module-level function ``payload dict -> manifest row updates`` with ``status`` and ``reason`` set, so the
distributor can pickle it by name into spawned children.
"""
