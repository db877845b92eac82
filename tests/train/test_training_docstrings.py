"""The examples in the training and evaluation docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "vidssl.train.schedules",
    "vidssl.train.label_budget",
    "vidssl.tasks.registry",
    "vidssl.eval.classification",
    "vidssl.eval.retrieval",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
