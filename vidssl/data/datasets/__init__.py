"""Datasets over manifests, official split lists, WebDataset shards and DAVIS-layout folders.

Kept light: import what you need from the submodules, e.g.
``from vidssl.data.datasets.clip_dataset import VideoClipDataset``, ``...sources import load_videos``,
``...official_splits import ucf101_manifest``, ``...wds import WebDatasetClips``, ``...plans import PlanDataset``.
"""
