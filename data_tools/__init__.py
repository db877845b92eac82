"""data_tools: ``vidssl-data``, preprocessing for video corpora.

Synthesize the built-in corpus, scan and verify real folders, transcode, index motion, split and shard. May import
``vidssl.data``; ``vidssl`` never imports ``data_tools``.
"""
