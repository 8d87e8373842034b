"""The train_step models: a network pair trained with `fit`, and their losses."""
from vgan_tf.tasks.adversarial import AdversarialTask, paper_adam
from vgan_tf.tasks.future_gan import FuturePredictionGAN
from vgan_tf.tasks.video_gan import VideoGAN

__all__ = ["AdversarialTask", "FuturePredictionGAN", "VideoGAN", "paper_adam"]
