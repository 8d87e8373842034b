"""Keras models of the paper, one folder per model family (networks: no I/O, no training).

    video/       TwoStreamGenerator, OneStreamGenerator (noise -> video)
    future/      FrameEncoder, ConditionalTwoStreamGenerator, FuturePredictor (image -> video)
    classifier/  ActionClassifier (the discriminator's features -> action logits)
shared by them: blocks (layers, initialisers), stages (StagedNetwork), discriminator.
Each family folder's `family.py` holds its `Family` record (families.py: the registry).
"""
from vgan_tf.models.classifier.networks import ActionClassifier
from vgan_tf.models.discriminator import Discriminator
from vgan_tf.models.future.networks import (ConditionalTwoStreamGenerator, FrameEncoder,
                                            FuturePredictor)
from vgan_tf.models.stages import StagedNetwork
from vgan_tf.models.video.networks import OneStreamGenerator, TwoStreamGenerator

__all__ = ["ActionClassifier", "ConditionalTwoStreamGenerator", "Discriminator", "FrameEncoder",
           "FuturePredictor", "OneStreamGenerator", "StagedNetwork", "TwoStreamGenerator"]
