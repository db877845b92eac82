"""Datasets over manifests, official split lists, WebDataset shards and DAVIS-layout folders."""
