"""What the text-conditioned GANs (:mod:`gensys.recipes.text2image`, :mod:`gensys.recipes.stackgan`)
share: their common config fields (:class:`TextGANConfig`), captions for a batch, the text
encoder and its training (:class:`TextSide`), and one step of a generator and its
matching-aware discriminator (:func:`players_step`).

Each training step first draws captions for the real images (their label and measured
attributes, :mod:`gensys.data.captions`, in a random template) and mismatched ones (another
caption class), then takes one Adam step of the joint embedding
(:func:`gensys.gan.matching.joint_embedding_loss`) on the real images and their
captions, and embeds both captions with the updated text encoder. The GAN players see
these embeddings as constants (no gradient reaches the encoder from them): the encoder is
trained by the matching objective alone, so the space the generator is conditioned on,
and interpolated in, is the one where captions sit near the images they describe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from gensys.data import captions
from gensys.data.datasets import DatasetSpec
from gensys.gan.losses import LOSSES, called_real, discriminator_loss
from gensys.gan.matching import joint_embedding_loss, matching_aware_discriminator_loss
from gensys.nets.dcgan import NORMS, DCGANDiscriminator, dcgan_stages
from gensys.nets.text import GRUTextEncoder, ImageEncoder
from gensys.recipes.players import (
    GeneratorObjective,
    Players,
    apply_tracking_stats,
    two_player_step,
)
from gensys.recipes.state import make_optimizer, masked_mean


@dataclasses.dataclass(frozen=True)
class TextGANConfig:
    """The ``model`` fields both text-conditioned GANs have."""

    image_size: int | None = 16  # resize the data (bilinear) to this square side
    loss: str = "nonsaturating"
    latent_dim: int = 64
    width: int = 32  # DCGAN feature maps of the first D / last G layer
    d_norm: str = "batch"
    condition_features: int = 32  # phi compressed to this in the discriminator
    embed_dim: int = 64
    text_hidden: int = 128
    temperature: float = 0.1
    encoder_learning_rate: float = 1e-3
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999

    def image_side(self, spec: DatasetSpec) -> int:
        """Validates the config for data of ``spec``; returns the (full) image side."""
        if self.loss not in LOSSES or self.loss == "wgan_gp":
            raise ValueError(f"loss must be one of {LOSSES} but wgan_gp, got {self.loss!r}")
        if self.d_norm not in NORMS:
            raise ValueError(f"d_norm must be one of {NORMS}, got {self.d_norm!r}")
        if spec.num_levels == 0 or spec.num_classes != len(captions.DIGIT_WORDS):
            raise ValueError(
                "captions are made from digit labels: the data must be images of the ten "
                f"digits (digits or mnist), got {spec.builder} with {spec.num_classes} classes"
            )
        if self.image_size is None and spec.image_shape[0] != spec.image_shape[1]:
            raise ValueError(f"needs square images, got {spec.image_shape}")
        size = self.image_size or spec.image_shape[0]
        dcgan_stages(size)
        return size

    def text_side(self) -> TextSide:
        return TextSide(
            self.embed_dim, hidden=self.text_hidden, temperature=self.temperature,
            learning_rate=self.encoder_learning_rate,
        )  # fmt: skip

    def discriminator(self) -> DCGANDiscriminator:
        """DCGAN's discriminator with ``phi`` replicated over its last 4x4 map."""
        return DCGANDiscriminator(
            self.width, self.d_norm, conditioning="spatial",
            condition_features=self.condition_features,
        )  # fmt: skip

    def optimizer(self) -> optax.GradientTransformation:
        return make_optimizer(self.learning_rate, grad_clip_norm=None, b1=self.beta1, b2=self.beta2)


def resized(images: jax.Array, size: int) -> jax.Array:
    """``images [B, H, W, C]`` resized (bilinear) to ``size x size``."""
    if images.shape[1:3] == (size, size):
        return images
    return jax.image.resize(images, (images.shape[0], size, size, images.shape[-1]), "bilinear")


@flax.struct.dataclass
class Captions:
    """Caption classes ``(B,)``, tokens ``[B, T]`` and lengths ``(B,)``."""

    classes: jax.Array
    tokens: jax.Array
    lengths: jax.Array

    @classmethod
    def of_classes(cls, key: jax.Array, classes: jax.Array) -> Captions:
        """``classes`` said in templates drawn from ``key``."""
        tokens, lengths = captions.draw_captions(key, classes)
        return cls(classes, tokens, lengths)

    @classmethod
    def in_template(cls, classes: jax.Array, template: int = 0) -> Captions:
        """``classes`` all said in ``template``."""
        tokens, lengths = captions.caption_table()
        rows = template * captions.NUM_CLASSES + jnp.asarray(classes)
        return cls(jnp.asarray(classes), jnp.asarray(tokens)[rows], jnp.asarray(lengths)[rows])

    def cycled(self, num: int) -> Captions:
        """``num`` captions, these repeated in order."""
        rows = jnp.arange(num) % self.classes.shape[0]
        return Captions(self.classes[rows], self.tokens[rows], self.lengths[rows])


def captions_of(key: jax.Array, images: jax.Array, labels: jax.Array) -> tuple[Captions, Captions]:
    """The captions of ``images`` (labels and measured attributes) and mismatched ones."""
    template_key, mismatch_key, other_key = jax.random.split(key, 3)
    classes = captions.describe(images, jnp.maximum(labels, 0))
    mismatched = captions.mismatched_classes(mismatch_key, classes)
    return Captions.of_classes(template_key, classes), Captions.of_classes(other_key, mismatched)


@flax.struct.dataclass
class TextSideState:
    """The text and image encoders' parameters and their optimizer state."""

    text: Any
    image: Any
    opt_state: Any


@dataclasses.dataclass(frozen=True)
class TextSide:
    """The text encoder ``phi`` and the image encoder it is trained against."""

    embed_dim: int = 64
    word_dim: int = 32
    hidden: int = 128
    temperature: float = 0.1
    learning_rate: float = 1e-3

    @property
    def text_encoder(self) -> GRUTextEncoder:
        return GRUTextEncoder(len(captions.VOCABULARY), self.embed_dim, self.word_dim, self.hidden)

    @property
    def image_encoder(self) -> ImageEncoder:
        return ImageEncoder(self.embed_dim)

    @property
    def optimizer(self) -> optax.GradientTransformation:
        return make_optimizer(self.learning_rate, grad_clip_norm=1.0)

    def init(
        self, key: jax.Array, caption_key: jax.Array, images: jax.Array, labels: jax.Array
    ) -> tuple[TextSideState, Captions, jax.Array]:
        """Fresh encoders (from ``key``), the captions of ``images`` (from ``caption_key``)
        and their embeddings ``phi``."""
        text, _ = captions_of(caption_key, images, labels)
        text_key, image_key = jax.random.split(key)
        text_params = self.text_encoder.init(text_key, text.tokens, text.lengths)
        image_params = self.image_encoder.init(image_key, images)
        state = TextSideState(
            text_params, image_params, self.optimizer.init((text_params, image_params))
        )
        return state, text, self.embed(state, text)

    def embed(self, state: TextSideState, text: Captions) -> jax.Array:
        """``phi(text)`` ``[B, embed_dim]``, unit length."""
        return self.text_encoder.apply(state.text, text.tokens, text.lengths)

    def hits(
        self, state: TextSideState, images: jax.Array, phi: jax.Array, text: Captions, mask
    ) -> jax.Array:
        """Per example, whether image ``i`` scores a caption of its own class highest
        among the batch's embedded captions ``phi``."""
        image_embeddings = self.image_encoder.apply(state.image, images)
        _, hit = joint_embedding_loss(image_embeddings, phi, text.classes, mask, self.temperature)
        return hit

    def described(
        self, state: TextSideState, key: jax.Array, images: jax.Array, labels: jax.Array
    ) -> tuple[Captions, jax.Array, jax.Array]:
        """The captions of ``images`` (:func:`captions_of`), their embeddings ``phi`` and
        those of mismatched captions."""
        text, mismatched = captions_of(key, images, labels)
        return text, self.embed(state, text), self.embed(state, mismatched)

    def train(
        self, state: TextSideState, key: jax.Array, images: jax.Array, labels, mask: jax.Array
    ):
        """A training step's text side: captions for ``images``, one joint-embedding step,
        and both captions embedded by the updated encoder as constants for the players.
        Returns ``(state, phi, phi_mismatched, metrics)``."""
        text, mismatched = captions_of(key, images, labels)
        state, metrics = self.update(state, images, text, mask)
        phi = jax.lax.stop_gradient(self.embed(state, text))
        return state, phi, jax.lax.stop_gradient(self.embed(state, mismatched)), metrics

    def update(self, state: TextSideState, images: jax.Array, text: Captions, mask: jax.Array):
        """One step of the joint embedding on real ``images`` and their captions."""

        def loss_fn(params):
            text_params, image_params = params
            t = self.text_encoder.apply(text_params, text.tokens, text.lengths)
            v = self.image_encoder.apply(image_params, images)
            per_example, hit = joint_embedding_loss(v, t, text.classes, mask, self.temperature)
            return masked_mean(per_example, mask), hit

        params = (state.text, state.image)
        (loss, hit), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, params)
        text_params, image_params = optax.apply_updates(params, updates)
        metrics = {"train/match_loss": loss, "train/match_accuracy": masked_mean(hit, mask)}
        return TextSideState(text_params, image_params, opt_state), metrics


@dataclasses.dataclass(frozen=True)
class TextConditionedGAN:
    """A text-conditioned GAN's recipe, with what code beyond ``sample`` needs: the text
    side (``text_side.embed(state.text_side, captions)`` gives ``phi``) and
    ``generate(state, phi, z, key)``, the images for embeddings ``phi`` and noise ``z``
    (StackGAN's: a pair, stage I and stage II)."""

    recipe: Any
    text_side: TextSide
    generate: Callable[..., Any]
    latent_dim: int


def matching_aware_objective(
    discriminator,
    loss: str,
    real: jax.Array,
    fake: jax.Array,
    phi: jax.Array,
    phi_mismatched: jax.Array,
    matching_aware: bool = True,
):
    """The discriminator's objective on (real, phi), (real, phi_mismatched) and (fake, phi)
    (:func:`~gensys.gan.matching.matching_aware_discriminator_loss`), for
    :func:`gensys.recipes.players.discriminator_step`; its values say how each pair is
    judged. With ``matching_aware=False`` the loss is the plain conditional one on
    (real, phi) and (fake, phi); the mismatched pair is still scored, for the metric."""
    fake = jax.lax.stop_gradient(fake)

    def objective(variables):
        outs = []
        for image, text in ((real, phi), (real, phi_mismatched), (fake, phi)):
            out, variables = apply_tracking_stats(discriminator, variables, image, text, train=True)
            outs.append(out)
        if matching_aware:
            per_example = matching_aware_discriminator_loss(loss, *outs)
        else:
            per_example = discriminator_loss(loss, outs[0], outs[2])
        return per_example, (variables, judged(loss, *outs))

    return objective


def players_step(
    players: Players,
    g_vars: Any,
    fake: jax.Array,
    discriminator,
    optimizer: optax.GradientTransformation,
    loss: str,
    real: jax.Array,
    phi: jax.Array,
    phi_mismatched: jax.Array,
    mask: jax.Array,
    generator_objective: GeneratorObjective,
    prefix: str = "train/",
    matching_aware: bool = True,
) -> tuple[Players, dict]:
    """A text-conditioned GAN's :func:`~gensys.recipes.players.two_player_step`: one
    matching-aware discriminator step on ``fake`` (made by the generator with variables
    ``g_vars``, whose batch statistics the players keep), then one generator step on
    ``generator_objective``."""
    d_objective = matching_aware_objective(
        discriminator, loss, real, fake, phi, phi_mismatched, matching_aware
    )
    return two_player_step(
        players.replace(generator=g_vars), d_objective, generator_objective, mask, optimizer,
        prefix=prefix,
    )  # fmt: skip


def judged(loss: str, real, mismatched, fake) -> dict:
    """Per example, whether the discriminator calls the real pair real and the mismatched
    and fake pairs fake (1.0 or 0.0)."""
    real_called_real, mismatched_called_real = called_real(loss, real, mismatched)
    _, fake_called_real = called_real(loss, real, fake)
    return {
        "real_accuracy": real_called_real,
        "mismatch_accuracy": 1.0 - mismatched_called_real,
        "fake_accuracy": 1.0 - fake_called_real,
    }
