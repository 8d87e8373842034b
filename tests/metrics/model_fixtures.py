"""A tiny trained-looking video generator saved the three ways a user has one."""
import json
import os

import keras

FRAMES, SIZE, LATENT, WIDTH = 16, 16, 8, 8


def write_model_sources(folder: str) -> dict:
    """{"checkpoint": model_dir, "keras": file, "saved_model": dir, "generator": G}.

    The checkpoint dir is what training leaves mid-run (config.json + checkpoints/, no
    generator.keras), written with training's own checkpoint manager."""
    from vgan_tf import export, models, tasks
    from vgan_tf.training import checkpoints

    keras.utils.set_random_seed(7)
    generator = models.TwoStreamGenerator(FRAMES, SIZE, LATENT, WIDTH, name="generator")
    gan = tasks.VideoGAN(generator, models.Discriminator(FRAMES, SIZE, WIDTH))
    gan.compile()
    model_dir = os.path.join(folder, "run")
    os.makedirs(model_dir)
    checkpoints.checkpoint_manager(gan, os.path.join(model_dir, "checkpoints"), 1).save()
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump({"model": "video", "generator": "two_stream", "frames": FRAMES,
                   "size": SIZE, "latent_dim": LATENT, "base_width": WIDTH}, f)
    keras_file = os.path.join(folder, "generator.keras")
    checkpoints.save_atomically(generator, keras_file)
    saved = export.export_generator(generator, os.path.join(folder, "export"),
                                    warmup_batch_sizes=())
    return {"checkpoint": model_dir, "keras": keras_file, "saved_model": saved,
            "generator": generator}


class PixelFeatures:
    """An I3D-free stand-in for the feature network of fvd.ClipFeatures: per frame, the
    mean of each colour channel over 2x2 tiles of the (224x224) frame ([b, T * 12]);
    `calls` counts its traces by ClipFeatures' tf.function (0: it never ran)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, videos, training=False):
        import tensorflow as tf

        del training
        self.calls += 1
        tiles = tf.nn.avg_pool3d(videos, [1, 1, 112, 112, 1], [1, 1, 112, 112, 1], "VALID")
        return tf.reshape(tiles, [tf.shape(videos)[0], -1])


def pixel_features():
    """(fvd.ClipFeatures over a PixelFeatures network, that network)."""
    from vgan_tf.metrics import fvd

    network = PixelFeatures()
    return fvd.ClipFeatures(network), network
