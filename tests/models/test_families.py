"""Model families: one record each, looked up by name; no family branches elsewhere."""
from __future__ import annotations

import ast
import os
import types

import pytest

from tests.helpers import REPO
from vgan_tf import tasks
from vgan_tf.models import families


def test_the_registry_holds_the_trainable_families():
    assert families.NAMES == ("video", "future")
    video, future = families.family("video"), families.family("future")
    assert (video.final_file, video.served_name, video.conditional) == (
        "generator.keras", "generator", False)
    assert (future.final_file, future.served_name, future.conditional) == (
        "predictor.keras", "predictor", True)
    assert families.of_file("/runs/a/predictor.keras") is future
    assert families.of_file("/runs/a/other.keras") is None
    with pytest.raises(ValueError, match=r"--model must be one of \('video', 'future'\)"):
        families.family("stylegan")


@pytest.mark.parametrize("name", families.NAMES)
def test_each_family_builds_matching_networks_and_its_task(name, tiny):
    family = families.family(name)
    model = types.SimpleNamespace(frames=tiny.frames, size=tiny.size,
                                  latent_dim=tiny.latent_dim, base_width=tiny.base_width,
                                  generator="two_stream", mask_weight=0.1, l1_weight=10.0,
                                  spectral_norm=False)  # no layer_forms: plain
    generator, discriminator = family.build_generator(model), family.build_discriminator(model)
    assert tuple(generator.video_shape) == tuple(discriminator.video_shape)
    config = types.SimpleNamespace(model=model, training=types.SimpleNamespace(
        seed=0, g_step="paper"), recipe=tasks.Recipe())
    task = family.build_task(generator, discriminator, config)
    assert task.generator is generator and task.discriminator is discriminator


def test_the_future_family_refuses_the_one_stream_generator():
    with pytest.raises(ValueError, match="--generator applies to --model=video only"):
        families.family("future").validate(types.SimpleNamespace(generator="one_stream"))


def _family_comparisons(path):
    """Lines of `path` that compare something with a family's name."""
    tree = ast.parse(open(path).read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant) and operand.value in families.NAMES:
                    found.append(f"{path}:{node.lineno}")
    return found


def test_no_family_branches_outside_the_family_folders():
    family_dirs = {os.path.join(REPO, "vgan_tf", "models", name) for name in families.NAMES}
    found = []
    for top in ("vgan_tf", "tools"):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            if folder in family_dirs:
                continue
            found += [hit for name in files if name.endswith(".py")
                      for hit in _family_comparisons(os.path.join(folder, name))]
    assert not found, found


def test_a_family_knows_its_own_networks(tiny):
    from vgan_tf.models import FuturePredictor, OneStreamGenerator
    one = OneStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    predictor = FuturePredictor(tiny.frames, tiny.size, tiny.base_width)
    video, future = families.family("video"), families.family("future")
    assert video.accepts(one) and not video.accepts(predictor)
    assert future.accepts(predictor) and not future.accepts(one)
