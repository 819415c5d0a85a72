"""The text-to-image benchmark's outputs on made-up values: the captioned picture rows and
the report's tables."""

import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.text_to_image_report import write_report
from gensys.eval.grids import save_captioned_rows


def test_captioned_rows_write_each_caption_beside_its_row(tmp_path):
    rows = np.linspace(-1, 1, 2 * 3 * 8 * 8).reshape(2, 3, 8, 8, 1)
    captions = ["a thick, slanted seven", "an upright two"]
    image = np.asarray(Image.open(save_captioned_rows(rows, captions, tmp_path / "c.png")))
    # 8x8 images enlarged 4x to the 32-pixel cell, a pixel of padding around each (also 4x).
    assert image.shape[0] == 2 * 4 * (8 + 2)
    margin = image.shape[1] - 4 * (3 * (8 + 1) + 1)
    assert margin > 60  # room for the longer caption
    assert image[:, :margin].min() < 64 <= 255 == image[:, :2].min()  # dark text on white
    with pytest.raises(ValueError, match="R captions"):
        save_captioned_rows(rows, ["one caption"], tmp_path / "bad.png")


def test_report_tables(tmp_path):
    agreement = {"class": 0.9, "thickness": 0.7, "slant": 0.8}
    quality = {"frechet": 6.5, "kid": 1.0, "precision": 0.88, "recall": 0.53}
    row = {
        "family": "stackgan", "steps": 3000, "train_seconds": 400.0,
        "by_template": {"0": agreement, "1": agreement, "2": agreement},
        "real": {"class": 0.983, "thickness": 1.0, "slant": 1.0},
        "chance": {"class": 0.07, "thickness": 0.31, "slant": 0.42},
        "response": {"d_ink": 0.05, "d_ink_real": 0.07, "d_shear": 0.3, "d_shear_real": 0.33},
        "quality": quality, "quality_real": quality, "stage1": agreement,
    }  # fmt: skip
    write_report({"stackgan_digits": row}, tmp_path)
    text = (tmp_path / "text_to_image_digits.md").read_text()
    assert "| stackgan_digits | 3,000 | 400 | 1 | 0.900 | 0.700 | 0.800 |" in text
    assert "| stackgan_digits, stage I (8x8) | | | 0 | 0.900 |" in text
    assert "| chance | | | | 0.070 | 0.310 | 0.420 |" in text
    assert "| stackgan_digits | 0.050 | 0.070 | 0.300 | 0.330 | 6.50 | 0.880 | 0.530 |" in text
    assert "stackgan_digits/stages.png" in text
    assert json.loads((tmp_path / "text_to_image_digits.json").read_text())["stackgan_digits"]
