"""Keras models of the paper: no I/O and no training logic here."""
from vgan_tf.models.classifier import ActionClassifier
from vgan_tf.models.discriminator import Discriminator
from vgan_tf.models.future import ConditionalTwoStreamGenerator, FrameEncoder, FuturePredictor
from vgan_tf.models.generators import OneStreamGenerator, TwoStreamGenerator
from vgan_tf.models.stages import StagedNetwork

__all__ = ["ActionClassifier", "ConditionalTwoStreamGenerator", "Discriminator", "FrameEncoder",
           "FuturePredictor", "OneStreamGenerator", "StagedNetwork", "TwoStreamGenerator"]
