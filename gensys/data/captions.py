"""Captions for digit images, made from each image's label and two attributes measured on
its pixels: the text side of text-to-image (Reed et al. 2016) and StackGAN on digits.

The attributes (pure ``jnp``, on images in ``[-1, 1]`` with background -1):

- **thickness** from the ink fraction ``mean((x + 1) / 2)``: ``thin`` below
  :data:`THIN_BELOW`, ``thick`` above :data:`THICK_ABOVE`, unnamed between. The
  thresholds are the ink fraction's terciles on the 1,500 training digits
  (0.288 and 0.322; digits are size-normalized, so the ink fraction tracks the stroke
  width and not the class: its per-class medians lie within 0.295-0.321).
- **slant** from the ink's second moments, the shear ``s = sum w (c - c_bar)(r_bar - r) /
  sum w (r - r_bar)^2`` (column c to the right, row r downwards, weights ``w`` the
  ink): how far the strokes lean right per row upwards. ``backslanted`` below
  ``-SLANT_LIMIT``, ``slanted`` above ``SLANT_LIMIT``, ``upright`` between;
  ``SLANT_LIMIT = 0.1`` (about 6 degrees). Slant is a shape property, so it goes with
  the class too (on the training digits the median shear of a six is -0.21, of a
  seven +0.13).

The grammar (a caption class is a (thickness, slant, digit) triple, 3 x 3 x 10 = 90;
each is said in one of three templates, drawn at random when training)::

    template 0:  "a" ["thin" | "thick" ","] SLANT DIGIT      "a thick, slanted seven"
                                                            "an upright two"
    template 1:  "the digit" DIGIT "," [THICKNESS "and"] SLANT
                                                            "the digit seven, thick and slanted"
    template 2:  DIGIT "written" [THICKNESS "and"] SLANT       "seven written thin and upright"

    SLANT := "backslanted" | "upright" | "slanted"
    DIGIT := "zero" | "one" | ... | "nine"

Words are the tokens (a comma is its own token); token 0 pads. :func:`caption_table`
holds every caption as padded tokens, so drawing captions inside a jitted step is an
index into it (:func:`draw_captions`); :func:`encode` and :func:`decode` turn text into
tokens and back on the host, with an error naming any word outside the vocabulary.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gensys import checks

THIN_BELOW = 0.288
THICK_ABOVE = 0.322
SLANT_LIMIT = 0.1

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = ("thin", None, "thick")  # index 1: not said
SLANT_WORDS = ("backslanted", "upright", "slanted")
NUM_TEMPLATES = 3
NUM_CLASSES = len(THICKNESS_WORDS) * len(SLANT_WORDS) * len(DIGIT_WORDS)  # 90
MAX_TOKENS = 8

VOCABULARY = (
    "<pad>",
    "a",
    "an",
    "the",
    "digit",
    "written",
    "and",
    ",",
    "thin",
    "thick",
    *SLANT_WORDS,
    *DIGIT_WORDS,
)
_TOKEN_OF = {word: i for i, word in enumerate(VOCABULARY)}


def caption_class(thickness: jax.Array, slant: jax.Array, digit: jax.Array) -> jax.Array:
    """The class index ``(thickness * 3 + slant) * 10 + digit`` in ``[0, 90)``."""
    return (thickness * len(SLANT_WORDS) + slant) * len(DIGIT_WORDS) + digit


def class_parts(index):
    """``(thickness, slant, digit)`` of caption classes, ints or arrays (the inverse of
    :func:`caption_class`)."""
    rest, digit = divmod(index, len(DIGIT_WORDS))
    thickness, slant = divmod(rest, len(SLANT_WORDS))
    return thickness, slant, digit


def caption_text(index: int, template: int = 0) -> str:
    """The caption of class ``index`` in ``template`` (see the module docstring)."""
    thickness, slant, digit = class_parts(index)
    thick, lean, word = THICKNESS_WORDS[thickness], SLANT_WORDS[slant], DIGIT_WORDS[digit]
    adjectives = [a for a in (thick, lean) if a]
    if template == 0:
        article = "an" if adjectives[0][0] in "aeiou" else "a"
        return f"{article} {', '.join(adjectives)} {word}"
    if template == 1:
        return f"the digit {word}, {' and '.join(adjectives)}"
    if template == 2:
        return f"{word} written {' and '.join(adjectives)}"
    raise ValueError(f"template must be in [0, {NUM_TEMPLATES}), got {template}")


def tokenize(text: str) -> list[str]:
    """Lower-cased words; a comma is a word of its own."""
    return text.lower().replace(",", " , ").split()


def encode(texts: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids ``[N, MAX_TOKENS]`` (0-padded) and lengths ``(N,)`` of ``texts``."""
    tokens = np.zeros((len(texts), MAX_TOKENS), np.int32)
    lengths = np.zeros((len(texts),), np.int32)
    for i, text in enumerate(texts):
        words = tokenize(text)
        unknown = sorted({w for w in words if w not in _TOKEN_OF or w == "<pad>"})
        if unknown:
            raise ValueError(
                f"caption {text!r} has words outside the vocabulary: {unknown}; "
                f"the vocabulary is {list(VOCABULARY[1:])}"
            )
        if not 0 < len(words) <= MAX_TOKENS:
            raise ValueError(f"caption {text!r} must have 1 to {MAX_TOKENS} words")
        tokens[i, : len(words)] = [_TOKEN_OF[w] for w in words]
        lengths[i] = len(words)
    return tokens, lengths


def decode(tokens: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The texts of token ids (inverse of :func:`encode` up to spacing around commas)."""
    texts = []
    for row, n in zip(np.asarray(tokens), np.asarray(lengths), strict=True):
        texts.append(" ".join(VOCABULARY[t] for t in row[:n]).replace(" ,", ","))
    return texts


@functools.cache
def caption_table() -> tuple[np.ndarray, np.ndarray]:
    """Every caption as tokens ``[NUM_TEMPLATES * 90, MAX_TOKENS]`` and lengths; row
    ``template * 90 + class``."""
    texts = [caption_text(c, t) for t in range(NUM_TEMPLATES) for c in range(NUM_CLASSES)]
    return encode(texts)


def measure_attributes(images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Ink fraction and shear ``(B,)`` of ``images [B, H, W, C]`` in ``[-1, 1]`` (channels
    averaged); a blank image gets shear 0."""
    checks.check_rank(images, 4, "images")
    w = jnp.mean((images.astype(jnp.float32) + 1.0) / 2.0, axis=-1)
    h, wd = w.shape[1], w.shape[2]
    rows = jnp.arange(h, dtype=jnp.float32)[None, :, None]
    cols = jnp.arange(wd, dtype=jnp.float32)[None, None, :]
    mass = jnp.sum(w, axis=(1, 2))
    safe_mass = jnp.maximum(mass, 1e-6)
    r_bar = jnp.sum(w * rows, axis=(1, 2)) / safe_mass
    c_bar = jnp.sum(w * cols, axis=(1, 2)) / safe_mass
    dr = rows - r_bar[:, None, None]
    dc = cols - c_bar[:, None, None]
    spread = jnp.maximum(jnp.sum(w * dr * dr, axis=(1, 2)), 1e-6)
    shear = jnp.sum(w * dc * -dr, axis=(1, 2)) / spread
    return mass / (h * wd), shear


def attribute_classes(images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Thickness (0 thin, 1 unnamed, 2 thick) and slant (0 backslanted, 1 upright,
    2 slanted) classes ``(B,)`` of ``images`` in ``[-1, 1]``."""
    ink, shear = measure_attributes(images)
    thickness = (ink > THIN_BELOW).astype(jnp.int32) + (ink > THICK_ABOVE).astype(jnp.int32)
    slant = (shear > -SLANT_LIMIT).astype(jnp.int32) + (shear > SLANT_LIMIT).astype(jnp.int32)
    return thickness, slant


def describe(images: jax.Array, labels: jax.Array) -> jax.Array:
    """The caption class ``(B,)`` of each image: its label and measured attributes."""
    thickness, slant = attribute_classes(images)
    return caption_class(thickness, slant, labels)


def draw_captions(key: jax.Array, classes: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Tokens ``[B, MAX_TOKENS]`` and lengths ``(B,)`` saying ``classes`` in templates drawn
    uniformly per example."""
    tokens, lengths = caption_table()
    rows = jax.random.randint(key, classes.shape, 0, NUM_TEMPLATES) * NUM_CLASSES + classes
    return jnp.asarray(tokens)[rows], jnp.asarray(lengths)[rows]


def mismatched_classes(key: jax.Array, classes: jax.Array) -> jax.Array:
    """A caption class other than ``classes`` per example, uniform over the other 89: the
    mismatched text of the matching-aware discriminator."""
    shift = jax.random.randint(key, classes.shape, 1, NUM_CLASSES)
    return (classes + shift) % NUM_CLASSES
