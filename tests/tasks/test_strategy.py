"""Distribution: MirroredStrategy over two logical CPUs equals the single-device step, and
two MultiWorkerMirroredStrategy workers on loopback train to identical weights with fit.

Logical devices and TF_CONFIG must be set before TensorFlow initialises, so each check
runs this file as a program in a fresh process
(`python tests/tasks/test_strategy.py MODE ...`).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import helpers

REPO = helpers.REPO


def _run(*args, env=None, timeout=180):
    env = dict(os.environ if env is None else env, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=REPO)
    return subprocess.run([sys.executable, os.path.abspath(__file__), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("g_step", ["updated_d", "paper"])
def test_mirrored_two_replicas_equal_single_device_step(tmp_path, g_step):
    out = tmp_path / "mirrored.json"
    result = _run("mirrored", str(out), g_step)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["replicas"] == 2
    assert report["noise_differs"]
    # Same data, same per-replica noise: the 2-replica step is the single-device step.
    assert report["trainable_max_diff"] < 1e-6, report
    assert report["weights_moved"] > 1e-3, report  # the update itself is ~0.02
    assert report["step"] == 1
    assert report["stats_replica_diff"] == 0.0, report


@pytest.mark.slow
@pytest.mark.parametrize("g_step", ["updated_d", "paper"])
def test_mirrored_two_replicas_equal_single_device_step_for_the_predictor(tmp_path, g_step):
    """The same equivalence for FuturePredictionGAN: input frames, the replica-scaled
    first-frame L1 term and the shared D/G steps and BatchNorm sync."""
    out = tmp_path / "mirrored_future.json"
    result = _run("mirrored_future", str(out), g_step)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["replicas"] == 2 and report["step"] == 1
    assert report["trainable_max_diff"] < 1e-6, report
    assert report["weights_moved"] > 1e-3, report
    assert report["stats_replica_diff"] == 0.0, report


@pytest.mark.slow
def test_mirrored_two_replicas_equal_single_device_step_with_r1(tmp_path):
    """The same equivalence with a lazy R1 penalty on D (every=2, so step 0 applies it with
    gamma * 2): the input gradients and the penalty are replica-scaled like the losses."""
    out = tmp_path / "mirrored_r1.json"
    result = _run("mirrored_r1", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["replicas"] == 2 and report["step"] == 1
    assert report["trainable_max_diff"] < 1e-6, report
    assert report["weights_moved"] > 1e-3, report
    # R1 did move D: the reference without it ends elsewhere.
    assert report["r1_effect"] > 1e-4, report


@pytest.mark.slow
@pytest.mark.parametrize("g_step", ["updated_d", "paper"])
def test_mirrored_two_replicas_equal_single_device_step_with_the_recipe(tmp_path, g_step):
    """The recipe's options under MirroredStrategy: hinge loss, R1 (registered from the
    recipe, inside the scope), the three augmentations (each replica its own draws, the
    reference repeats them) and G's EMA (each replica's copy equals decay * before +
    (1 - decay) * after); a spectral-norm D trains a step there too."""
    out = tmp_path / "mirrored_recipe.json"
    result = _run("mirrored_recipe", str(out), g_step)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["replicas"] == 2 and report["step"] == 1
    assert report["r1_registered"] == ["R1Penalty"]
    assert report["trainable_max_diff"] < 1e-6, report
    assert report["weights_moved"] > 1e-3, report
    assert report["stats_replica_diff"] == 0.0, report
    assert report["ema_max_diff"] < 1e-6, report
    assert report["ema_stats_replica_diff"] == 0.0, report
    assert report["ema_moved_from_g"] > 1e-4, report  # it lags G by (1 - decay) of a step
    assert report["spectral_losses_finite"], report
    assert report["spectral_u_replica_diff"] == 0.0, report


@pytest.mark.slow
def test_two_workers_fit_to_identical_weights(tmp_path):
    outs = [tmp_path / f"worker{index}.npz" for index in range(2)]
    helpers.run_two_workers(__file__, lambda index: ["worker", tmp_path / "run", outs[index]])
    a, b = np.load(outs[0]), np.load(outs[1])
    assert int(a["step"]) == int(b["step"]) == 4
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 20
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    run = tmp_path / "run"
    # Only the chief (worker 0) writes checkpoints and exports; worker 1's scratch is gone.
    assert sorted(f for f in os.listdir(run / "checkpoints") if f.endswith(".index")) == [
        "ckpt-2.index", "ckpt-4.index"]
    assert (run / "generator.keras").exists()
    assert not (run / ".worker_1" / "checkpoints").exists()


# -- programs run in a fresh process ---------------------------------------------------


def _mirrored(out_path, g_step):
    import keras
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from vgan_tf import config as config_lib
    from vgan_tf.tasks import VideoGAN
    from vgan_tf.models import Discriminator, TwoStreamGenerator
    from vgan_tf.training import make_strategy

    strategy = make_strategy("mirrored")
    sizes = config_lib.TINY

    def make():
        g = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
        d = Discriminator(sizes.frames, sizes.size, sizes.base_width)
        gan = VideoGAN(g, d, seed=7, g_step=g_step)
        # SGD: the update is linear in the gradient, so a wrongly scaled gradient (a
        # missing or doubled 1/replicas) shows as a difference as large as the update.
        gan.compile(g_optimizer=keras.optimizers.SGD(1.0), d_optimizer=keras.optimizers.SGD(1.0))
        return gan

    gan, ref, before, real = _fit_one_step_beside_a_copy(
        strategy, make, (sizes.frames, sizes.size, sizes.size, 3))

    # Single-device reference: replica r trains on real[2r:2r+2] with the noise replica r
    # draws at step 0; BatchNorm sees each replica's half on its own; gradients are the
    # mean over replicas of each half's mean loss.
    zs = [ref.draw_latents(2, replica=r, step=0) for r in range(2)]
    _reference_step(ref, [real[:2], real[2:]], zs, g_step, lambda p, x: (
        ref.mask_weight * tf.reduce_mean(tf.abs(p["mask"]))))

    report = _equivalence(strategy, gan, ref, before)
    report["noise_differs"] = bool(np.abs(zs[0].numpy() - zs[1].numpy()).max() > 0.1)
    with open(out_path, "w") as handle:
        json.dump(report, handle)


def _fit_one_step_beside_a_copy(strategy, make, video_shape):
    """A task made under `strategy` and a single-device copy `ref` with its weights; the
    distributed one fits one step on 4 seeded real clips of `video_shape`. Returns (gan,
    ref, G's trainable values before the step, the real batch)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    with strategy.scope():
        gan = make()
    ref = make()
    ref.generator.set_weights(gan.generator.get_weights())
    ref.discriminator.set_weights(gan.discriminator.get_weights())
    before = [v.numpy().copy() for v in ref.generator.trainable_variables]
    real = np.random.default_rng(0).uniform(-1, 1, (4,) + tuple(video_shape)).astype("float32")
    gan.fit(tf.data.Dataset.from_tensors(real), epochs=1, steps_per_epoch=1, verbose=0)
    return gan, ref, before, real


def _reference_step(ref, halves, inputs, g_step, penalty, d_penalty=None):
    """One training step of the single-device reference `ref` as two replicas would take
    it: replica r sees halves[r] and G's input inputs[r]; BatchNorm sees each half on its
    own; gradients are the mean over replicas of each half's mean loss; G's loss adds
    penalty(parts, half), D's loss d_penalty(d sum(D(half)) / d half) if given. g_step
    "updated_d": G through the updated D; "paper": G through D before its update. The
    adversarial loss is ref's, and D sees the videos as ref's recipe augments them with
    replica r's draws of step 0."""
    import tensorflow as tf

    from vgan_tf.tasks import losses

    G, D = ref.generator, ref.discriminator
    loss_pair = ref.adversarial_loss

    def seen(videos, stream, replica):
        return ref.augment_videos(videos, stream, replica=replica, step=0)

    tapes, parts = [], []
    for x in inputs:
        tape = tf.GradientTape(persistent=True)
        with tape:
            parts.append(G.generate_parts(x, training=True))
        tapes.append(tape)

    def mean_grads(grad_lists):
        return [tf.add_n(list(g)) / len(g) for g in zip(*grad_lists)]

    d_grads = []
    for r, (x, p) in enumerate(zip(halves, parts)):
        x = seen(tf.constant(x), "real", r)
        with tf.GradientTape() as t:
            with tf.GradientTape() as input_tape:
                input_tape.watch(x)
                real_logits = D(x, training=True)
                total = tf.reduce_sum(real_logits)
            loss = losses.discriminator_loss_mean(
                real_logits, D(seen(tf.stop_gradient(p["video"]), "fake", r), training=True),
                loss_pair)
            if d_penalty is not None:
                loss += d_penalty(input_tape.gradient(total, x))
        d_grads.append(t.gradient(loss, D.trainable_variables))
    d_mean = mean_grads(d_grads)
    if g_step == "updated_d":
        ref.d_optimizer.apply_gradients(zip(d_mean, D.trainable_variables))
    g_grads = []  # "paper": through D before its update
    stream = "fake" if g_step == "paper" else "generated"
    for r, (tape, x, p) in enumerate(zip(tapes, halves, parts)):
        with tape:
            loss = losses.generator_loss_mean(
                D(seen(p["video"], stream, r), training=True), loss_pair) + penalty(p, x)
        g_grads.append(tape.gradient(loss, G.trainable_variables))
    if g_step == "paper":
        ref.d_optimizer.apply_gradients(zip(d_mean, D.trainable_variables))
    ref.g_optimizer.apply_gradients(zip(mean_grads(g_grads), G.trainable_variables))


def _equivalence(strategy, gan, ref, before) -> dict:
    """How far the distributed task `gan` is from the single-device reference `ref`."""
    pairs = list(zip(gan.generator.trainable_variables + gan.discriminator.trainable_variables,
                     ref.generator.trainable_variables + ref.discriminator.trainable_variables))
    return {
        "replicas": strategy.num_replicas_in_sync,
        "trainable_max_diff": max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in pairs),
        "weights_moved": max(float(np.abs(a - v.numpy()).max())
                             for a, v in zip(before, gan.generator.trainable_variables)),
        "step": int(gan.step.value.numpy()),
        # BatchNorm moving statistics: one value on both replicas (the task averages them).
        "stats_replica_diff": max(
            float(np.abs(np.subtract(*[t.numpy() for t in
                                       strategy.experimental_local_results(v.value)])).max())
            for v in gan.generator.non_trainable_variables
            + gan.discriminator.non_trainable_variables),
    }


def _mirrored_future(out_path, g_step):
    import keras
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from vgan_tf.models import Discriminator, FuturePredictor
    from vgan_tf.tasks import FuturePredictionGAN
    from vgan_tf.tasks import future_gan
    from vgan_tf.training import make_strategy

    strategy = make_strategy("mirrored")
    frames, size, width = 8, 16, 8

    def make():
        gan = FuturePredictionGAN(FuturePredictor(frames, size, width),
                                  Discriminator(frames, size, width), l1_weight=10.0,
                                  g_step=g_step)
        gan.compile(g_optimizer=keras.optimizers.SGD(1.0), d_optimizer=keras.optimizers.SGD(1.0))
        return gan

    gan, ref, before, real = _fit_one_step_beside_a_copy(strategy, make,
                                                         (frames, size, size, 3))

    # Single-device reference: replica r trains on real[2r:2r+2]; gradients are the mean
    # over replicas of each half's mean loss.
    halves = [real[:2], real[2:]]
    _reference_step(ref, halves, [future_gan.input_frames(x) for x in halves], g_step,
                    lambda p, x: 10.0 * tf.reduce_mean(tf.abs(p["video"][:, 0] - x[:, 0])))

    with open(out_path, "w") as handle:
        json.dump(_equivalence(strategy, gan, ref, before), handle)


def _mirrored_r1(out_path, gamma=10.0, every=2):
    import keras
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from vgan_tf import config as config_lib
    from vgan_tf.models import Discriminator, TwoStreamGenerator
    from vgan_tf.tasks import VideoGAN
    from vgan_tf.tasks.regularizers import R1Penalty
    from vgan_tf.training import make_strategy

    strategy = make_strategy("mirrored")
    sizes = config_lib.TINY

    def make(r1=True):
        g = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
        d = Discriminator(sizes.frames, sizes.size, sizes.base_width)
        gan = VideoGAN(g, d, seed=7)
        if r1:
            gan.add_discriminator_penalty(R1Penalty(gamma, every=every))
        gan.compile(g_optimizer=keras.optimizers.SGD(1.0), d_optimizer=keras.optimizers.SGD(1.0))
        return gan

    gan, ref, before, real = _fit_one_step_beside_a_copy(
        strategy, make, (sizes.frames, sizes.size, sizes.size, 3))
    plain = make(r1=False)
    plain.set_weights(ref.get_weights())

    def r1(grads):
        norms = tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]), axis=1)
        return gamma * every / 2 * tf.reduce_mean(norms)

    zs = [ref.draw_latents(2, replica=r, step=0) for r in range(2)]
    for model, d_penalty in ((ref, r1), (plain, None)):
        _reference_step(model, [real[:2], real[2:]], zs, "paper", lambda p, x: (
            ref.mask_weight * tf.reduce_mean(tf.abs(p["mask"]))), d_penalty)

    report = _equivalence(strategy, gan, ref, before)
    report["r1_effect"] = max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(
        ref.discriminator.trainable_variables, plain.discriminator.trainable_variables))
    with open(out_path, "w") as handle:
        json.dump(report, handle)


def _mirrored_recipe(out_path, g_step, gamma=10.0, every=2, decay=0.9):
    """Every recipe option on but spectral norm (hinge, R1 every 2, all three augment
    policies, EMA 0.9), given as the task's recipe: one 2-replica step against the
    single-device reference; then a spectral-norm D trained one step under the strategy."""
    import keras
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from vgan_tf import config as config_lib
    from vgan_tf.models import Discriminator, TwoStreamGenerator
    from vgan_tf.tasks import Recipe, VideoGAN
    from vgan_tf.training import make_strategy

    strategy = make_strategy("mirrored")
    sizes = config_lib.TINY
    recipe = Recipe(loss="hinge", r1_gamma=gamma, r1_every=every,
                    augment=("color", "translation", "cutout"), ema_decay=decay)

    def make(recipe=recipe, spectral_norm=False):
        g = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
        d = Discriminator(sizes.frames, sizes.size, sizes.base_width,
                          spectral_norm=spectral_norm)
        gan = VideoGAN(g, d, seed=7, g_step=g_step, recipe=recipe)
        gan.compile(g_optimizer=keras.optimizers.SGD(1.0), d_optimizer=keras.optimizers.SGD(1.0))
        return gan

    gan, ref, before, real = _fit_one_step_beside_a_copy(
        strategy, make, (sizes.frames, sizes.size, sizes.size, 3))

    def r1(grads):
        norms = tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]), axis=1)
        return gamma * every / 2 * tf.reduce_mean(norms)

    zs = [ref.draw_latents(2, replica=r, step=0) for r in range(2)]
    _reference_step(ref, [real[:2], real[2:]], zs, g_step, lambda p, x: (
        ref.mask_weight * tf.reduce_mean(tf.abs(p["mask"]))), r1)
    report = _equivalence(strategy, gan, ref, before)
    report["r1_registered"] = [type(p).__name__ for p in gan.discriminator_penalties]
    # G's average: decay * G before + (1 - decay) * G after, on each replica's copy; its
    # BatchNorm statistics (its own) equal on both replicas.
    trainable = [w.trainable for w in gan.generator.weights]
    start = iter(before)
    want = [decay * next(start) + (1 - decay) * w.numpy() if t else None
            for w, t in zip(gan.generator.weights, trainable)]
    copies = [strategy.experimental_local_results(v.value) for v in gan.generator_ema.weights]
    report["ema_max_diff"] = max(float(np.abs(c.numpy() - w).max())
                                 for pair, w in zip(copies, want) if w is not None
                                 for c in pair)
    report["ema_stats_replica_diff"] = max(
        float(np.abs(pair[0].numpy() - pair[1].numpy()).max())
        for pair, w in zip(copies, want) if w is None)
    report["ema_moved_from_g"] = max(float(np.abs(v.numpy() - w.numpy()).max()) for v, w in
                                     zip(gan.generator_ema.weights, gan.generator.weights))

    with strategy.scope():
        normed = make(Recipe(), spectral_norm=True)
    history = normed.fit(tf.data.Dataset.from_tensors(real), epochs=1, steps_per_epoch=1,
                         verbose=0)
    report["spectral_losses_finite"] = bool(np.isfinite(history.history["d_loss"][0]))
    u = normed.discriminator.find_layer("d_conv1").u
    report["spectral_u_replica_diff"] = float(np.abs(np.subtract(
        *[t.numpy() for t in strategy.experimental_local_results(u.value)])).max())
    with open(out_path, "w") as handle:
        json.dump(report, handle)


def _worker(model_dir, out_path):
    from vgan_tf import training

    config = training.from_preset(
        "tiny", model_dir=model_dir, synthetic=True, synthetic_clips=16, steps=4,
        steps_per_epoch=2, checkpoint_every=2, batch_size=4, num_samples=2, verbose=0,
        strategy="multi_worker", summary_every=2, sample_every=4, log_every=2)
    gan = training.train(config)
    weights = {f"g/{v.path}": v.numpy() for v in gan.generator.weights}
    weights.update({f"d/{v.path}": v.numpy() for v in gan.discriminator.weights})
    np.savez(out_path, step=int(gan.step.value.numpy()), **weights)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    {"mirrored": _mirrored, "mirrored_future": _mirrored_future,
     "mirrored_r1": _mirrored_r1, "mirrored_recipe": _mirrored_recipe,
     "worker": _worker}[mode](*rest)
