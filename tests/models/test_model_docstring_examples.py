"""The usage examples in the models/losses docstrings (also quoted in docs/notes/models.md) must keep working."""

from __future__ import annotations

import doctest

import pytest

import vidssl.models
import vidssl.models.heads.order
import vidssl.models.registry
import vidssl.models.weights


@pytest.mark.parametrize(
    "module", [vidssl.models, vidssl.models.registry, vidssl.models.weights, vidssl.models.heads.order]
)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
