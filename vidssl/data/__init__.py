"""Video data: readers (``decode``), planners, datasets, transforms and audio features."""
