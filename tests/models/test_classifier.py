"""The action classifier: head shapes, parity with the discriminator, the pretrained
representation moved by name, the linear probe that leaves the features alone."""
import keras
import numpy as np
import pytest

from tests import helpers
from vgan_tf.models import Discriminator
from vgan_tf.models import ActionClassifier


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def videos(tiny, n=2, seed=0):
    return np.random.default_rng(seed).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32")


def tiny_classifier(tiny, num_classes=5, **kwargs):
    return ActionClassifier(num_classes, tiny.frames, tiny.size, tiny.base_width, **kwargs)


def test_paper_size_is_the_discriminators_features_plus_a_volume_head():
    classifier, d = ActionClassifier(101), Discriminator()
    head = 2 * 4 * 4 * 512 * 101 + 101  # kernel over the whole 2x4x4x512 volume, + bias
    assert count(classifier) == count(d) - (2 * 4 * 4 * 512 + 1) + head
    spec = classifier.compute_output_spec(keras.KerasTensor((3, 32, 64, 64, 3)))
    assert tuple(spec.shape) == (3, 101) and spec.dtype == "float32"
    assert classifier.find_layer("c_dropout").__class__.__name__ == "SpatialDropout3D"


@pytest.mark.parametrize("num_classes", [1, 2, 8, 101])
def test_head_shapes_for_class_counts(tiny, num_classes):
    logits = tiny_classifier(tiny, num_classes)(videos(tiny), training=False)
    assert logits.shape == (2, num_classes)


def test_bad_arguments_are_named(tiny):
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        tiny_classifier(tiny, 0)
    with pytest.raises(ValueError, match="dropout"):
        tiny_classifier(tiny, dropout=1.0)
    with pytest.raises(ValueError, match="size must be 4"):
        ActionClassifier(3, 8, 24, 8)


def test_load_features_copies_every_feature_weight_by_name(tiny):
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    x = videos(tiny)
    d(x, training=True)  # non-trivial BatchNorm statistics
    classifier = tiny_classifier(tiny)
    before = [w.copy() for w in classifier.feature_stack.get_weights()]
    assert classifier.load_features(d) == len(d.feature_stack.get_weights())
    for mine, theirs in zip(classifier.feature_stack.get_weights(),
                            d.feature_stack.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert any(not np.array_equal(a, b) for a, b in zip(before, d.feature_stack.get_weights()))
    np.testing.assert_allclose(classifier.feature_stack(x, training=False),
                               d.features(x, training=False), atol=1e-6)
    other = Discriminator(tiny.frames, tiny.size, tiny.base_width * 2)
    with pytest.raises(ValueError, match="does not match the classifier"):
        classifier.load_features(other)


def test_random_init_shares_no_pretrained_weight(tiny):
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    fresh = tiny_classifier(tiny)
    for mine, theirs in zip(fresh.feature_stack.trainable_weights,
                            d.feature_stack.trainable_weights):
        if np.std(theirs.numpy()) > 0:  # kernels and gammas (biases/betas start at 0)
            assert not np.array_equal(mine.numpy(), theirs.numpy()), mine.path


def test_linear_probe_trains_only_the_head(tiny):
    classifier = tiny_classifier(tiny, 3)
    classifier.load_features(Discriminator(tiny.frames, tiny.size, tiny.base_width))
    classifier.freeze_features()
    features = [w.copy() for w in classifier.feature_stack.get_weights()]  # incl. BN stats
    head = [w.copy() for w in classifier.class_head.get_weights()]
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = videos(tiny, 8), np.arange(8) % 3
    classifier.fit(x, y, batch_size=4, epochs=2, verbose=0)
    for before, after in zip(features, classifier.feature_stack.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert type(classifier).from_config(classifier.get_config()).frozen_features
    assert any(not np.array_equal(a, b)
               for a, b in zip(head, classifier.class_head.get_weights()))
    finetune = tiny_classifier(tiny, 3)
    start = [w.copy() for w in finetune.feature_stack.get_weights()]
    finetune.compile(optimizer=keras.optimizers.Adam(1e-2),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    finetune.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b)
               for a, b in zip(start, finetune.feature_stack.get_weights()))


def test_round_trips_and_precision(tiny, tmp_path):
    classifier = tiny_classifier(tiny, 4)
    helpers.run_serialization_test(classifier)
    helpers.run_model_saving_test(classifier, videos(tiny), tmp_path)
    helpers.run_precision_test(lambda: tiny_classifier(tiny, 4), videos(tiny))
