"""Class-conditional DCGAN on 28x28 MNIST (resized to 32x32 inside the recipe): the
networks and budget of ``dcgan_mnist.py`` with the label conditioning of
``cgan_digits.py`` (embedding into the generator, projection discriminator)."""

from experiments.configs.dcgan_mnist import get_config as get_dcgan_mnist_config


def get_config():
    config = get_dcgan_mnist_config()
    config.model.class_conditional = True
    config.model.conditioning = "projection"
    return config
