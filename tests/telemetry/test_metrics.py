import pytest

from telemetry.metrics import (
    retention_checkpoint,
    retention_from_content,
    retention_from_counts,
    safe_ratio,
)


@pytest.mark.parametrize(
    ("elapsed", "checkpoint"),
    [(0, None), (29.9, None), (30, 30), (119, 30), (120, 120), (301, 300), (600, 600), (3599, 600), (7200, 3600)],
)
def test_retention_checkpoint_is_the_largest_t_reached(elapsed, checkpoint):
    assert retention_checkpoint(elapsed) == checkpoint


def test_identical_content_is_fully_retained_and_unchanged():
    original = "def add(a, b):\n    return a + b\n"
    current = "import os\n\n" + original + "\nprint(add(1, 2))\n"
    measure = retention_from_content(original=original, current=current)
    assert measure.retained_chars == len(original)
    assert measure.total_chars == len(original)
    assert measure.unchanged and measure.mostly_unchanged


def test_small_edit_is_mostly_unchanged():
    original = "def total(values):\n    result = 0\n    for v in values:\n        result += v\n    return result\n"
    edited = original.replace("result", "acc", 1)
    measure = retention_from_content(original=original, current="# header\n" + edited)
    assert not measure.unchanged
    assert measure.mostly_unchanged
    assert len(original) - 8 <= measure.retained_chars < len(original)


def test_rewritten_code_is_neither():
    original = "def total(values):\n    return sum(values)\n"
    current = "class Accumulator:\n    pass\n\nx = [1, 2, 3]\n"
    measure = retention_from_content(original=original, current=current)
    assert not measure.unchanged and not measure.mostly_unchanged
    assert measure.retained_chars < len(original) / 2


def test_deleted_code_retains_nothing():
    measure = retention_from_content(original="print('hello world')\n", current="")
    assert measure.retained_chars == 0
    assert not measure.mostly_unchanged


def test_counts_use_deleted_characters_as_edit_distance():
    assert retention_from_counts(retained_chars=100, total_chars=100).unchanged
    mostly = retention_from_counts(retained_chars=70, total_chars=100)
    assert not mostly.unchanged and mostly.mostly_unchanged
    assert not retention_from_counts(retained_chars=60, total_chars=100).mostly_unchanged


def test_safe_ratio():
    assert safe_ratio(1, 4) == 0.25
    assert safe_ratio(1, 0) is None
