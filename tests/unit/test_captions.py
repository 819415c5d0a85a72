"""Captions from labels and measured attributes (gensys.data.captions): the grammar, the
tokens, and the thickness and slant measured on constructed strokes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys.data import captions


def test_the_grammar_says_what_the_docstring_promises():
    seven = captions.caption_class(2, 2, 7)  # thick, slanted, seven
    assert captions.caption_text(seven, 0) == "a thick, slanted seven"
    assert captions.caption_text(seven, 1) == "the digit seven, thick and slanted"
    assert captions.caption_text(seven, 2) == "seven written thick and slanted"
    assert captions.caption_text(captions.caption_class(1, 1, 2), 0) == "an upright two"
    assert (
        captions.caption_text(captions.caption_class(0, 0, 4), 2)
        == "four written thin and backslanted"
    )
    with pytest.raises(ValueError, match="template"):
        captions.caption_text(seven, 3)


def test_every_caption_round_trips_through_tokens():
    tokens, lengths = captions.caption_table()
    assert tokens.shape == (captions.NUM_TEMPLATES * captions.NUM_CLASSES, captions.MAX_TOKENS)
    texts = [captions.caption_text(c, t) for t in range(3) for c in range(captions.NUM_CLASSES)]
    assert captions.decode(tokens, lengths) == texts
    assert len(set(texts)) == len(texts)
    assert np.all(tokens[np.arange(captions.MAX_TOKENS)[None] >= lengths[:, None]] == 0)
    for index in range(captions.NUM_CLASSES):
        assert captions.caption_class(*captions.class_parts(index)) == index


def test_unknown_words_are_named():
    with pytest.raises(ValueError, match=r"\['purple'\]"):
        captions.encode(["a purple seven"])
    with pytest.raises(ValueError, match="1 to 8 words"):
        captions.encode([""])


def stroke(shear: float, width: int, size: int = 16) -> jnp.ndarray:
    """A vertical stroke of ``width`` pixels through the centre, leaning ``shear`` columns
    to the right per row upwards, as an image in [-1, 1]."""
    image = -np.ones((size, size, 1), np.float32)
    for row in range(2, size - 2):
        centre = size / 2 + shear * (size / 2 - row)
        left = int(round(centre - width / 2))
        image[row, max(left, 0) : left + width] = 1.0
    return jnp.asarray(image)


def test_slant_and_thickness_are_measured_on_strokes():
    images = jnp.stack(
        [stroke(0.0, 2), stroke(0.4, 2), stroke(-0.4, 2), stroke(0.0, 8), -jnp.ones((16, 16, 1))]
    )
    ink, shear = captions.measure_attributes(images)
    assert abs(float(shear[0])) < 0.05
    assert float(shear[1]) == pytest.approx(0.4, abs=0.08)
    assert float(shear[2]) == pytest.approx(-0.4, abs=0.08)
    assert float(ink[3]) > float(ink[0])
    assert float(ink[4]) == 0.0 and float(shear[4]) == 0.0  # blank: no slant, no ink
    thickness, slant = captions.attribute_classes(images[:4])
    assert slant.tolist() == [1, 2, 0, 1]  # upright, slanted, backslanted, upright
    assert thickness.tolist() == [0, 0, 0, 2]  # ink 0.09: thin; the 8-pixel stroke, 0.38: thick


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_drawn_and_mismatched_captions(seed):
    key_classes, key_draw, key_other = jax.random.split(jax.random.key(seed), 3)
    classes = jax.random.randint(key_classes, (32,), 0, captions.NUM_CLASSES)
    tokens, lengths = captions.draw_captions(key_draw, classes)
    texts = captions.decode(np.asarray(tokens), np.asarray(lengths))
    for text, c in zip(texts, np.asarray(classes), strict=True):
        assert text in [captions.caption_text(int(c), t) for t in range(captions.NUM_TEMPLATES)]
    other = captions.mismatched_classes(key_other, classes)
    assert np.all(np.asarray(other) != np.asarray(classes))
    assert np.all((np.asarray(other) >= 0) & (np.asarray(other) < captions.NUM_CLASSES))
