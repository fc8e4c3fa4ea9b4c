"""Fixtures for the vision tests."""

from __future__ import annotations

import pytest
from PIL import Image
from vision_helpers import CountingModel, draw_strokes


@pytest.fixture
def counting_model() -> CountingModel:
    return CountingModel()


@pytest.fixture
def strokes() -> Image.Image:
    return draw_strokes()
