"""FuturePredictionGAN: frame 1 in, the l1 term on the first predicted frame, a short
training on the synthetic scenes in which the predictor learns to start from its input."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from vgan_tf.data.synthetic import render_clip
from vgan_tf.models import Discriminator, FuturePredictor
from vgan_tf.tasks import FuturePredictionGAN, losses, paper_adam
from vgan_tf.tasks.future_gan import first_frame_l1_per_example


def make_gan(tiny, **kwargs):
    return FuturePredictionGAN(FuturePredictor(tiny.frames, tiny.size, tiny.base_width),
                               Discriminator(tiny.frames, tiny.size, tiny.base_width),
                               **kwargs)


def synthetic_clips(tiny, n, seed):
    clips = np.stack([render_clip(seed, i, tiny.frames, tiny.size)[0] for i in range(n)])
    return clips.astype("float32") / 127.5 - 1.0


def test_logs_and_metric_names(tiny):
    gan = make_gan(tiny)
    assert gan.metric_names == ("d_loss", "g_loss", "l1", "mask_mean", "d_real_acc",
                                "d_fake_acc")
    gan.compile()
    logs = gan.train_step(tf.constant(synthetic_clips(tiny, 4, 0)))
    assert set(logs) == set(gan.metric_names)
    assert 0.0 < float(logs["mask_mean"]) < 1.0
    assert float(logs["d_loss"]) == pytest.approx(2 * np.log(2), abs=0.1)


def test_g_loss_is_adversarial_plus_ten_times_first_frame_l1(tiny):
    gan = make_gan(tiny)
    assert gan.l1_weight == 10.0
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(synthetic_clips(tiny, 4, 0))
    parts = gan.generate(x, training=True)
    # The input is frame 1 of each clip: the same parts as the predictor on x[:, 0].
    np.testing.assert_allclose(
        parts["video"], gan.generator(x[:, 0], training=True), atol=1e-6)
    logs = gan.train_step(x)
    l1 = float(np.mean(np.abs(parts["video"][:, 0].numpy() - x[:, 0].numpy())))
    assert float(logs["l1"]) == pytest.approx(l1, rel=1e-5)
    gen_logits = gan.discriminator(parts["video"], training=True)
    assert float(logs["g_loss"]) == pytest.approx(
        float(losses.generator_loss_mean(gen_logits)) + 10.0 * l1, rel=1e-4)
    assert float(gan.generator_penalty(parts, x)) == pytest.approx(10.0 * l1, rel=1e-5)


def test_l1_is_the_mean_over_every_element_of_the_first_frame():
    video = np.zeros((2, 3, 4, 4, 3), "float32")
    video[0, 0] = 1.0  # first frame of example 0 off by 1 everywhere
    video[1, 1:] = 5.0  # later frames do not count
    image = np.zeros((2, 4, 4, 3), "float32")
    image[1, :2] = -0.5  # half of example 1's frame off by 0.5
    np.testing.assert_allclose(first_frame_l1_per_example(video, image), [1.0, 0.25])


def test_zero_weight_drops_the_penalty_and_negative_is_refused(tiny):
    gan = make_gan(tiny, l1_weight=0.0)
    x = tf.constant(synthetic_clips(tiny, 2, 0))
    assert gan.generator_penalty(gan.generate(x, training=False), x) is None
    with pytest.raises(ValueError, match="l1_weight"):
        make_gan(tiny, l1_weight=-1.0)


def test_config_round_trip(tiny):
    clone = helpers.run_serialization_test(make_gan(tiny, l1_weight=3.0))
    assert clone.l1_weight == 3.0
    assert type(clone.generator) is FuturePredictor


@pytest.mark.slow
def test_short_training_learns_to_start_from_the_input(tiny):
    """60 steps on the synthetic scenes (about 2 s): the l1 term falls well below its
    start, and on held-out clips the first predicted frame (inference mode) is much closer
    to the input frame than the untrained predictor's."""
    gan = make_gan(tiny)
    gan.compile(g_optimizer=paper_adam(2e-3), d_optimizer=paper_adam(2e-4))
    train = synthetic_clips(tiny, 64, seed=0)
    held = synthetic_clips(tiny, 16, seed=1)[:, :, :, :, :]

    def held_l1():
        video = gan.generator(held[:, 0], training=False).numpy()
        return float(np.mean(np.abs(video[:, 0] - held[:, 0])))

    untrained = held_l1()
    first = float(gan.train_step(tf.constant(train[:8]))["l1"])
    data = tf.data.Dataset.from_tensor_slices(train).shuffle(64, seed=0).repeat().batch(8)
    history = gan.fit(data, epochs=6, steps_per_epoch=10, verbose=0).history
    assert history["l1"][-1] < 0.75 * first, (first, history["l1"])
    trained = held_l1()
    assert trained < 0.7 * untrained, (untrained, trained)
    assert all(np.isfinite(history["d_loss"]))


@pytest.mark.parametrize("g_step", ["paper", "updated_d"])
def test_g_update_goes_through_the_d_of_its_g_step(tiny, g_step):
    """The predictor shares both G-step forms: its G gradient (adversarial + 10 * l1) goes
    through D before this step's D update ("paper", one D forward on the predictions) or
    after it ("updated_d")."""
    gan = make_gan(tiny, g_step=g_step)
    assert FuturePredictionGAN.from_config(gan.get_config()).g_step == g_step
    gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5))
    x = tf.constant(synthetic_clips(tiny, 4, 0))
    g_ref = FuturePredictor.from_config(gan.generator.get_config())
    g_ref.set_weights(gan.generator.get_weights())
    d_ref = Discriminator.from_config(gan.discriminator.get_config())
    d_ref.set_weights(gan.discriminator.get_weights())
    with tf.GradientTape() as g_tape:
        video = g_ref.generate_parts(x[:, 0], training=True)["video"]
    with tf.GradientTape() as d_tape:
        d_loss = losses.discriminator_loss_mean(d_ref(x, training=True),
                                                d_ref(video, training=True))
    d_grads = d_tape.gradient(d_loss, d_ref.trainable_variables)

    def g_grads():
        with g_tape:
            loss = (losses.generator_loss_mean(d_ref(video, training=True))
                    + 10.0 * tf.reduce_mean(first_frame_l1_per_example(video, x[:, 0])))
        return g_tape.gradient(loss, g_ref.trainable_variables)

    if g_step == "paper":
        grads = g_grads()
    for v, g in zip(d_ref.trainable_variables, d_grads):
        v.assign_sub(0.5 * g)
    if g_step == "updated_d":
        grads = g_grads()
    gan.train_step(x)
    for v, g, got in zip(g_ref.trainable_variables, grads, gan.generator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), v.numpy() - 0.5 * g.numpy(), atol=3e-6)
