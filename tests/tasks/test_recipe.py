"""The task's recipe (tasks.Recipe): the paper's by default, kept in the task's config, and
each option doing what it says in the train step: hinge loss, R1 from the recipe,
DiffAugment before D in both steps (G's gradient through it), G's moving average."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from vgan_tf import sampling
from vgan_tf.models import Discriminator, FuturePredictor, TwoStreamGenerator
from vgan_tf.tasks import FuturePredictionGAN, R1Penalty, Recipe, VideoGAN
from vgan_tf.tasks import losses

ALL_AUGMENT = ("color", "translation", "cutout")


def make_gan(tiny, discriminator=None, **kwargs):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    d = discriminator or Discriminator(tiny.frames, tiny.size, tiny.base_width)
    return VideoGAN(g, d, **kwargs)


def real_batch(tiny, n=4, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32"))


def copies(gan):
    """Single-device copies of G and D with gan's weights (for gradients by hand)."""
    d_ref = Discriminator.from_config(gan.discriminator.get_config())
    d_ref.set_weights(gan.discriminator.get_weights())
    g_ref = TwoStreamGenerator.from_config(gan.generator.get_config())
    g_ref.set_weights(gan.generator.get_weights())
    return g_ref, d_ref


def test_the_paper_recipe_is_the_default_and_leaves_the_config_as_before(tiny):
    gan = make_gan(tiny)
    assert gan.recipe == Recipe() and gan.recipe.is_paper
    assert gan.adversarial_loss is losses.NON_SATURATING
    assert gan.discriminator_penalties == () and gan.generator_ema is None
    assert gan.inference_generator is gan.generator
    assert "recipe" not in gan.get_config()
    assert gan.metric_names == ("d_loss", "g_loss", "mask_mean", "d_real_acc", "d_fake_acc")
    x = real_batch(tiny)
    assert gan.augment_videos(x, "real") is x


def test_recipe_arguments_are_checked():
    for kwargs, needle in (({"loss": "wgan"}, "loss must be one of"),
                           ({"r1_gamma": -1.0}, "r1_gamma"),
                           ({"r1_every": 0}, "r1_every"),
                           ({"ema_decay": 1.0}, "ema_decay"),
                           ({"augment": "color,blur"}, "'blur'")):
        with pytest.raises(ValueError, match=needle):
            Recipe(**kwargs)
    recipe = Recipe(augment="color, cutout", r1_gamma=1, r1_every=4)
    assert recipe.augment == ("color", "cutout") and recipe.r1_gamma == 1.0
    assert Recipe.from_config(recipe.to_config()) == recipe
    assert not recipe.is_paper


@pytest.mark.slow
def test_a_saved_task_keeps_its_recipe_and_its_average(tiny, tmp_path):
    """R1 registered from the recipe, the hinge pair and the EMA copy come back from the
    task's config and from a .keras file (the EMA weights with it)."""
    recipe = Recipe(loss="hinge", r1_gamma=2.0, r1_every=3, augment=ALL_AUGMENT,
                    ema_decay=0.5)
    gan = make_gan(tiny, seed=4, recipe=recipe)
    assert gan.metric_names == ("d_loss", "g_loss", "mask_mean", "r1", "d_real_acc",
                                "d_fake_acc")
    assert gan.discriminator_penalties == (R1Penalty(2.0, 3),)
    assert gan.adversarial_loss is losses.HINGE
    clone = helpers.run_serialization_test(gan)
    assert clone.recipe == recipe and clone.discriminator_penalties == (R1Penalty(2.0, 3),)
    assert clone.generator_ema is not None and clone.adversarial_loss is losses.HINGE
    gan.compile()
    for seed in range(2):
        gan.train_step(real_batch(tiny, seed=seed))
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.recipe == recipe and loaded.seed == 4
    for a, b in zip(gan.generator_ema.weights, loaded.generator_ema.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(
        gan.generator_ema.weights, gan.generator.weights)) > 0


def test_hinge_steps_match_gradients_by_hand(tiny):
    """--loss=hinge, g_step paper: D's update is the gradient of mean relu(1 - D(x)) +
    mean relu(1 + D(G(z))); G's that of -mean D(G(z)) + the mask prior (pre-update D)."""
    gan = make_gan(tiny, mask_weight=0.3, recipe=Recipe(loss="hinge"))
    gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5))
    g_ref, d_ref = copies(gan)
    real = real_batch(tiny)
    with tf.GradientTape() as g_tape:
        parts = g_ref.generate_parts(gan.draw_latents(4), training=True)
        logits = d_ref(parts["video"], training=True)
        g_loss = -tf.reduce_mean(logits) + 0.3 * tf.reduce_mean(parts["mask"])
    g_grads = g_tape.gradient(g_loss, g_ref.trainable_variables)
    with tf.GradientTape() as d_tape:
        r = d_ref(real, training=True)
        f = d_ref(tf.stop_gradient(parts["video"]), training=True)
        d_loss = tf.reduce_mean(tf.nn.relu(1 - r)) + tf.reduce_mean(tf.nn.relu(1 + f))
    d_grads = d_tape.gradient(d_loss, d_ref.trainable_variables)
    logs = gan.train_step(real)
    for refs, grads, got in ((g_ref, g_grads, gan.generator),
                             (d_ref, d_grads, gan.discriminator)):
        for v, g, w in zip(refs.trainable_variables, grads, got.trainable_variables):
            np.testing.assert_allclose(w.numpy(), v.numpy() - 0.5 * g.numpy(), atol=2e-6)
    assert float(logs["d_loss"]) == pytest.approx(float(d_loss), rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(float(g_loss), rel=1e-5)


class RecordingCritic(keras.Model):
    """D(x) = mean(a * x) per video; keeps what it was shown (eager steps only)."""

    def __init__(self, video_shape, **kwargs):
        super().__init__(**kwargs)
        self.video_shape = tuple(video_shape)
        self.a = self.add_weight(shape=self.video_shape, name="a")
        self.seen = []
        self.built = True

    def call(self, videos, training=None):
        self.seen.append(videos.numpy())
        return tf.reduce_mean(self.a * videos, axis=[1, 2, 3, 4])[:, None]


@pytest.mark.parametrize("g_step", ["paper", "updated_d"])
def test_augmentation_reaches_d_for_real_and_fake_in_both_steps(tiny, g_step):
    """--augment=cutout: every batch D sees in a step (real, fake; with updated_d also the
    fake of G's step, with its own draws) has one hole per clip, the same in each frame."""
    critic = RecordingCritic((tiny.frames, tiny.size, tiny.size, 3))
    gan = make_gan(tiny, critic, g_step=g_step, recipe=Recipe(augment=("cutout",)))
    gan.compile()
    critic.seen.clear()
    gan.train_step(tf.ones((4, tiny.frames, tiny.size, tiny.size, 3)))
    assert len(critic.seen) == (2 if g_step == "paper" else 3)
    holes = []
    for batch in critic.seen:
        zero = (batch == 0).all(axis=-1)  # [clips, frames, h, w]
        assert (zero == zero[:, :1]).all()  # the same hole in every frame of a clip
        assert zero[:, 0].sum(axis=(1, 2)).min() > 0  # a hole in every clip
        holes.append(zero[:, 0])
    assert (critic.seen[0][~(critic.seen[0] == 0)] == 1).all()  # reals: ones, holed
    assert not np.array_equal(holes[0], holes[1])  # real and fake: their own draws
    if g_step == "updated_d":
        assert not np.array_equal(holes[1], holes[2])


@pytest.mark.slow
def test_g_gradient_goes_through_the_augmentation(tiny):
    """g_step paper with every policy: G's update is the gradient of the G loss of D(the
    augmented fake batch), the draw D's step used (stream "fake" of replica 0, step 0),
    through the augmentation; without augmentation the update differs."""
    results = {}
    for policies in (ALL_AUGMENT, ()):
        keras.utils.set_random_seed(3)
        gan = make_gan(tiny, mask_weight=0.3, recipe=Recipe(augment=policies))
        gan.compile(g_optimizer=keras.optimizers.SGD(0.5),
                    d_optimizer=keras.optimizers.SGD(0.0))
        g_ref, d_ref = copies(gan)
        with tf.GradientTape() as tape:
            parts = g_ref.generate_parts(gan.draw_latents(4), training=True)
            seen = gan.augment_videos(parts["video"], "fake", replica=0, step=0)
            logits = d_ref(seen, training=True)
            g_loss = (losses.generator_loss_mean(logits)
                      + 0.3 * tf.reduce_mean(parts["mask"]))
        grads = tape.gradient(g_loss, g_ref.trainable_variables)
        gan.train_step(real_batch(tiny))
        for v, g, w in zip(g_ref.trainable_variables, grads, gan.generator.trainable_variables):
            np.testing.assert_allclose(w.numpy(), v.numpy() - 0.5 * g.numpy(), atol=2e-6)
        results[policies] = [w.numpy() for w in gan.generator.trainable_variables]
    assert max(float(np.abs(a - b).max()) for a, b in zip(*results.values())) > 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("g_step", ["paper", "updated_d"])
def test_the_average_follows_g_after_each_step(tiny, g_step):
    """EMA 0.75: after each step avg = 0.75 avg + 0.25 G for trainable weights (starting
    from G's initial weights); the average's BatchNorm statistics are its own: those a
    copy of it with the averaged weights gathers in training mode on the step's noise
    (not G's); sampling uses the average."""
    decay = 0.75
    gan = make_gan(tiny, g_step=g_step, recipe=Recipe(ema_decay=decay))
    gan.compile()
    assert gan.inference_generator is gan.generator_ema
    assert not gan.generator_ema.trainable_weights
    trainable = [w.trainable for w in gan.generator.weights]
    assert not all(trainable)  # BatchNorm statistics are among the weights
    want = [w.numpy() for w in gan.generator.weights]
    for a, b in zip(gan.generator_ema.weights, gan.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    probe = type(gan.generator).from_config(gan.generator.get_config())
    for seed in range(3):
        stats_before = [w.numpy() for w in gan.generator_ema.weights]
        z = gan.draw_latents(4, step=seed)
        gan.train_step(real_batch(tiny, seed=seed))
        now = [w.numpy() for w in gan.generator.weights]
        want = [decay * a + (1 - decay) * b if t else None
                for a, b, t in zip(want, now, trainable)]
        # the probe: the averaged weights with the average's statistics before the step,
        # run once in training mode on the step's noise
        for p, a, t, before in zip(probe.weights, gan.generator_ema.weights, trainable,
                                   stats_before):
            p.assign(a.numpy() if t else before)
        probe.generate_parts(z, training=True)
        for a, b, p, g, t in zip(gan.generator_ema.weights, want, probe.weights,
                                 gan.generator.weights, trainable):
            if t:
                np.testing.assert_allclose(a.numpy(), b, rtol=1e-6, atol=1e-7)
            else:
                np.testing.assert_allclose(a.numpy(), p.numpy(), rtol=1e-5, atol=1e-6)
                if seed and "moving_mean" in a.path:
                    assert np.abs(a.numpy() - g.numpy()).max() > 1e-6  # not G's
        want = [w.numpy() for w in gan.generator_ema.weights]
    assert np.abs(sampling.sample(gan.inference_generator, 2)
                  - sampling.sample(gan.generator, 2)).max() > 1e-4


@pytest.mark.slow
def test_the_predictor_task_takes_the_recipe(tiny):
    recipe = Recipe(loss="hinge", r1_gamma=1.0, augment=ALL_AUGMENT, ema_decay=0.9)
    gan = FuturePredictionGAN(FuturePredictor(tiny.frames, tiny.size, tiny.base_width),
                              Discriminator(tiny.frames, tiny.size, tiny.base_width),
                              seed=2, recipe=recipe)
    assert gan.metric_names == ("d_loss", "g_loss", "l1", "mask_mean", "r1", "d_real_acc",
                                "d_fake_acc")
    clone = helpers.run_serialization_test(gan)
    assert (clone.recipe, clone.seed) == (recipe, 2)
    gan.compile()
    logs = gan.train_step(real_batch(tiny))
    assert all(np.isfinite(float(v)) for v in logs.values()) and float(logs["r1"]) > 0
    assert type(gan.inference_generator) is FuturePredictor
    assert gan.inference_generator is gan.generator_ema
