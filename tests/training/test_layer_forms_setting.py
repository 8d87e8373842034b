"""--layer_forms: which stride-1 layer forms the trained networks use, per preset, on resume."""
import json
import os
import types

import pytest

from vgan_tf.models import families
from vgan_tf.models import family as family_lib
from vgan_tf.training import config as train_config


@pytest.mark.parametrize("forms, d_input, g_heads", [
    ("plain", False, False), ("d_input", True, False), ("g_heads", False, True),
    ("both", True, True)])
def test_layer_forms_reach_the_built_networks(forms, d_input, g_heads):
    model = train_config.from_preset("tiny", layer_forms=forms).model
    family = families.family("video")
    generator, discriminator = family.build_generator(model), family.build_discriminator(model)
    assert discriminator.space_to_depth_input is d_input
    assert getattr(discriminator.find_layer("d_conv0"), "space_to_depth", False) is d_input
    assert generator.depth_to_space_heads is g_heads
    future = train_config.from_preset("future_tiny", layer_forms=forms).model
    if g_heads:
        with pytest.raises(ValueError, match=f"--layer_forms={forms}: the future predictor"):
            families.family("future").validate(future)
    else:
        families.family("future").validate(future)
        assert families.family("future").build_discriminator(future).space_to_depth_input \
            is d_input


def test_the_demo_presets_train_with_both_forms():
    for name in ("demo", "real_demo"):
        assert train_config.from_preset(name).model.layer_forms == "both"
    assert train_config.from_preset("paper").model.layer_forms == "plain"


def test_a_run_may_change_its_layer_forms_on_resume(tmp_path):
    saved = train_config.from_preset("demo", model_dir=str(tmp_path), synthetic=True)
    flat = saved.flat()
    del flat["layer_forms"]  # as `make demo` runs before the setting wrote config.json
    with open(os.path.join(tmp_path, train_config.CONFIG_FILE), "w") as handle:
        json.dump(flat, handle)
    assert train_config.for_run({"model_dir": str(tmp_path)}).model.layer_forms == "plain"
    given = {"model_dir": str(tmp_path), "synthetic": True}
    assert train_config.for_run(given, preset="demo").model.layer_forms == "both"
    assert train_config.for_run({**given, "layer_forms": "d_input"}).model.layer_forms \
        == "d_input"
    with pytest.raises(ValueError, match="--base_width=8"):  # a weight-changing setting
        train_config.for_run({**given, "base_width": 8})


def test_a_model_config_without_the_setting_is_plain_and_a_bad_value_is_named():
    assert family_lib.layer_forms(types.SimpleNamespace(frames=8)) == (False, False)
    assert family_lib.layer_forms(types.SimpleNamespace(layer_forms="both")) == (True, True)
    with pytest.raises(ValueError, match="--layer_forms must be one of plain, d_input"):
        family_lib.layer_forms(types.SimpleNamespace(layer_forms="fast"))
