"""The train_step models: a network pair trained with `fit`, their losses and the terms
(hooks.py) that regularise them."""
from vgan_tf.tasks.adversarial import AdversarialTask, paper_adam
from vgan_tf.tasks.future_gan import FuturePredictionGAN
from vgan_tf.tasks.hooks import RealBatch, TermValue
from vgan_tf.tasks.recipe import Recipe
from vgan_tf.tasks.regularizers import MaskPrior, R1Penalty
from vgan_tf.tasks.video_gan import VideoGAN

__all__ = ["AdversarialTask", "FuturePredictionGAN", "MaskPrior", "R1Penalty", "RealBatch",
           "Recipe", "TermValue", "VideoGAN", "paper_adam"]
