"""DiffAugment for videos (tasks/augment.py): one transform per clip, the same on each of
its frames, differentiable, drawn from (seed, step, replica, stream)."""
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.tasks import augment

SEED = augment.stream_seed(3, 5, 0, 0)


def still_clips(n=6, frames=4, size=16, seed=0):
    """Clips whose frames are all the same picture: [n, frames, size, size, 3]."""
    pictures = np.random.default_rng(seed).uniform(-1, 1, (n, 1, size, size, 3))
    return tf.constant(np.repeat(pictures, frames, axis=1).astype("float32"))


@pytest.mark.parametrize("policy", augment.POLICIES)
def test_each_policy_is_one_transform_per_clip_the_same_on_every_frame(policy):
    clips = still_clips()
    out = augment.augment(clips, (policy,), SEED).numpy()
    assert out.shape == clips.shape and out.dtype == np.float32
    for clip in out:  # still clips stay still: every frame got the same transform
        np.testing.assert_allclose(clip, np.broadcast_to(clip[:1], clip.shape), atol=1e-6)
    assert np.abs(out - clips.numpy()).max() > 0.1  # it did transform
    # Clips get their own draws: the same picture in every clip comes out differently.
    same = tf.repeat(clips[:1], 6, axis=0)
    drawn = augment.augment(same, (policy,), SEED).numpy()
    assert max(float(np.abs(drawn[i] - drawn[0]).max()) for i in range(1, 6)) > 0.1


def test_translation_shifts_each_clip_by_one_integer_offset_with_zeros_shifted_in():
    clips = tf.constant(np.random.default_rng(1).uniform(0.5, 1, (8, 3, 16, 16, 3))
                        .astype("float32"))  # frames differ; no zeros in the input
    out = augment.translation(clips, SEED).numpy()
    limit = 2  # 16 / 8
    shifts = set()
    for x, y in zip(clips.numpy(), out):
        matches = []
        for dy in range(-limit, limit + 1):
            for dx in range(-limit, limit + 1):
                want = np.zeros_like(x)
                src = x[:, max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)]
                want[:, max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)] = src
                if np.array_equal(want, y):
                    matches.append((dy, dx))
        assert len(matches) == 1, matches  # every frame of the clip: one and the same shift
        shifts.add(matches[0])
    assert len(shifts) > 1


def test_cutout_zeroes_one_clipped_square_per_clip_in_every_frame():
    ones = tf.ones((16, 3, 16, 16, 3))
    out = augment.cutout(ones, SEED).numpy()
    boxes = set()
    for clip in out:
        zero = clip[..., 0] == 0
        assert (clip[..., 1:] == clip[..., :1]).all()
        assert (zero == zero[:1]).all()  # the same hole in every frame
        rows, cols = np.nonzero(zero[0])
        box = (rows.min(), rows.max(), cols.min(), cols.max())
        height, width = box[1] - box[0] + 1, box[3] - box[2] + 1
        assert 1 <= height <= 8 and 1 <= width <= 8 and zero[0].sum() == height * width
        assert (height == 8 or box[0] == 0 or box[1] == 15)  # 8x8, clipped at a border
        boxes.add(box)
    assert len(boxes) > 1


def test_color_moves_a_grey_clip_by_its_brightness_only():
    """On a constant grey clip saturation and contrast have nothing to act on: the clip
    comes out as one value, shifted by its brightness draw in [-0.5, 0.5]."""
    out = augment.color(tf.zeros((32, 2, 4, 4, 3)), SEED).numpy()
    for clip in out:
        np.testing.assert_allclose(clip, clip.flat[0], atol=1e-6)
    values = out[:, 0, 0, 0, 0]
    assert -0.5 <= values.min() < values.max() <= 0.5 and values.std() > 0.1


def test_gradients_flow_through_every_policy():
    clips = still_clips(n=4)
    weights = tf.constant(np.random.default_rng(2).normal(size=clips.shape).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(clips)
        total = tf.reduce_sum(weights * augment.augment(clips, augment.POLICIES, SEED))
    grad = tape.gradient(total, clips)
    assert grad is not None and np.isfinite(grad.numpy()).all()
    assert float(tf.reduce_max(tf.abs(grad))) > 0
    # cutout alone: the gradient is the weight where the clip is kept, 0 in the hole.
    with tf.GradientTape() as tape:
        tape.watch(clips)
        total = tf.reduce_sum(weights * augment.cutout(clips, SEED))
    keep = augment.cutout(tf.ones_like(clips), SEED)
    np.testing.assert_allclose(tape.gradient(total, clips), weights * keep, atol=1e-6)


def test_draws_are_a_function_of_seed_step_replica_and_stream():
    clips = still_clips()

    def draw(*args):
        return augment.augment(clips, augment.POLICIES, augment.stream_seed(*args)).numpy()

    base = draw(0, 7, 0, 0)
    np.testing.assert_array_equal(base, draw(0, 7, 0, 0))
    for other in ((1, 7, 0, 0), (0, 8, 0, 0), (0, 7, 1, 0), (0, 7, 0, 1)):
        assert np.abs(draw(*other) - base).max() > 0.1, other


def test_policies_are_parsed_and_checked():
    assert augment.parse_policies("") == () == augment.parse_policies(())
    assert augment.parse_policies("color, cutout") == ("color", "cutout")
    assert augment.parse_policies(["translation"]) == ("translation",)
    with pytest.raises(ValueError, match="unknown augmentation policy 'blur'"):
        augment.parse_policies("color,blur")
    with pytest.raises(ValueError, match="given twice"):
        augment.parse_policies("color,color")
