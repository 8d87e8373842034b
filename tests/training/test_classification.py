"""The representation experiment's runs: three regimes trained and evaluated end to end
on the synthetic scenes (label: the sprites' direction of motion), bad input named, and
both binaries."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests import helpers
from tests.helpers import REPO
from vgan_tf import config_flags, training
from vgan_tf.data import synthetic
from vgan_tf.training import classification as cls

TINY = dict(frames=8, size=16, base_width=8)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A 2-step tiny VideoGAN run (its folder) and labelled train/test lists."""
    root = tmp_path_factory.mktemp("representation")
    run = root / "gan"
    training.train(training.from_preset("tiny", model_dir=str(run), synthetic=True,
                                        synthetic_clips=16, steps=2, steps_per_epoch=2,
                                        checkpoint_every=2, num_samples=1, verbose=0))
    train = synthetic.write_synthetic_dataset(str(root / "train"), 24, frames=8, size=16,
                                              seed=11)
    test = synthetic.write_synthetic_dataset(str(root / "test"), 16, frames=8, size=16,
                                             seed=12)
    return str(run), train, test


def config(tmp_path, fixture, **overrides):
    run, train, test = fixture
    values = dict(TINY, model_dir=str(tmp_path / "cls"), train_list=(train,),
                  test_list=(test,), num_classes=synthetic.NUM_CLASSES, regime="finetune",
                  pretrained=run, batch_size=8, epochs=1, verbose=0)
    values.update(overrides)
    return cls.make(**values)


# report.json's "settings" as written before ClassifierConfig had sections
# (dataclasses.asdict of the flat class, through JSON): reports of that form must load.
OLD_REPORT_SETTINGS = {
    "model_dir": "runs/cls", "train_list": ["train.txt"], "test_list": ["a.txt", "b.txt"],
    "data_root": "strips", "num_classes": 8, "label_base": 1, "label_fraction": 0.5,
    "regime": "linear", "pretrained": "runs/gan", "frames": 8, "size": 16,
    "base_width": 8, "batch_size": 4, "epochs": 3, "learning_rate": 0.001,
    "beta_1": 0.9, "resize": "bilinear", "test_clips": 2, "seed": 7,
    "strategy": "mirrored", "verbose": 2}


def test_the_sections_hold_the_flat_settings_of_old_reports():
    config = cls.make(**json.loads(json.dumps(OLD_REPORT_SETTINGS)))
    assert (config.model_dir, config.data.train_list, config.data.test_list) == (
        "runs/cls", ("train.txt",), ("a.txt", "b.txt"))
    assert (config.data.num_classes, config.data.label_base, config.data.label_fraction,
            config.data.resize, config.data.test_clips) == (8, 1, 0.5, "bilinear", 2)
    assert (config.model.regime, config.model.pretrained, config.model.frames,
            config.model.size, config.model.base_width) == ("linear", "runs/gan", 8, 16, 8)
    assert (config.training.batch_size, config.training.epochs,
            config.training.learning_rate, config.training.beta_1,
            config.training.seed) == (4, 3, 0.001, 0.9, 7)
    assert (config.runtime.strategy, config.runtime.verbose) == ("mirrored", 2)
    flat = json.loads(json.dumps(config.flat()))
    assert flat == OLD_REPORT_SETTINGS  # written back with the same flat keys and values
    assert set(cls.ClassifierConfig().flat()) == set(OLD_REPORT_SETTINGS)
    assert config.replace(size=32, verbose=0).model.size == 32
    with pytest.raises(ValueError, match="classifier settings: unknown settings: sizes"):
        cls.make(sizes=3)


def test_presets_are_flat_and_build_the_sections():
    tiny = cls.from_preset("tiny", model_dir="x", epochs=5)
    assert (tiny.model.frames, tiny.model.size, tiny.model.base_width) == (8, 16, 8)
    assert (tiny.training.batch_size, tiny.training.epochs, tiny.runtime.verbose) == (
        8, 5, 0)  # the override wins over the preset
    ucf = cls.from_preset("ucf101", train_list="t.txt")
    assert (ucf.data.label_base, ucf.training.batch_size, ucf.data.train_list) == (
        1, 256, ("t.txt",))
    assert all(isinstance(preset, dict) and set(preset) <= set(OLD_REPORT_SETTINGS)
               for preset in cls.PRESETS.values())
    with pytest.raises(ValueError, match="--preset must be one of"):
        cls.from_preset("huge")


@pytest.mark.parametrize("change,message", [
    (dict(model_dir=""), "--model_dir is required"),
    (dict(test_list=()), "--test_list is required"),
    (dict(pretrained=""), "--regime=linear needs --pretrained"),
    (dict(regime="random_init"), "--regime=random_init trains from a fresh network"),
    (dict(label_fraction=0.0), "--label_fraction must be > 0, got 0.0"),
    (dict(beta_1=1.0), "--beta_1 must be in [0, 1), got 1.0"),
    (dict(verbose=3), "--verbose must be one of (0, 1, 2), got 3"),
])
def test_validation_names_the_flag_in_every_section(change, message):
    config = cls.make(**dict(OLD_REPORT_SETTINGS, **change))
    with pytest.raises(ValueError) as info:
        config.validate()
    assert str(info.value).startswith(message)


@pytest.mark.slow
def test_the_binarys_flags_are_the_flat_settings():
    """Every flag of vgan-finetune but --preset is a setting of ClassifierConfig (its
    sections flattened), with the setting's default and help. In a subprocess: absl flags
    are one registry per process and vgan-train's share names with these."""
    flags = helpers.binary_flags("tools.finetune_classifier")
    flat = json.loads(json.dumps(cls.ClassifierConfig().flat()))
    assert set(flags) == set(flat) | {"preset"}
    for field in config_flags.settings(cls.ClassifierConfig):
        default, text = flags[field.name]
        assert default == flat[field.name], field.name
        help_text = field.metadata["help"]
        assert text.startswith(help_text) or text.endswith(help_text), field.name


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["random_init", "linear", "finetune"])
def test_each_regime_trains_and_reports(tmp_path, pretrained, regime):
    extra = {"pretrained": ""} if regime == "random_init" else {}
    report = cls.train_classifier(config(tmp_path, pretrained, regime=regime, **extra))
    out = tmp_path / "cls"
    saved = json.load(open(out / "report.json"))
    assert saved["top1"] == report["top1"] and saved["settings"]["regime"] == regime
    assert list(saved["settings"]) == list(cls.ClassifierConfig().flat())  # flat keys
    assert cls.make(**saved["settings"]) == config(tmp_path, pretrained, regime=regime,
                                                   **extra)
    assert report["count"] == report["listed"] == 16 and report["trained_on"] == 24
    assert np.array(report["confusion"]).sum() == 16
    assert 0 <= report["top1"] <= report["top5"] <= 1
    assert (out / "confusion.png").stat().st_size > 0
    from tests.training.test_visibility import read_events
    events = read_events(str(out / "tensorboard"))
    assert [step for step, _ in events["classifier/accuracy"]] == [1]
    assert {"classifier/loss", "classifier/top5"} <= set(events)
    classifier = keras.saving.load_model(str(out / "classifier.keras"))
    pretrained_d = cls.pretrained_discriminator(pretrained[0])
    same = [np.array_equal(a, b) for a, b in zip(classifier.feature_stack.get_weights(),
                                                 pretrained_d.feature_stack.get_weights())]
    if regime == "linear":
        assert all(same)  # frozen: weights and BatchNorm statistics as pretrained
    else:
        assert not all(same)


@pytest.mark.slow
def test_an_interrupted_run_resumes_at_the_next_epoch(tmp_path, pretrained, monkeypatch):
    """A run that dies after epoch 1 resumes at epoch 2 (keras BackupAndRestore in
    <model_dir>/backup): epoch 1 is not trained twice."""
    from tests.training.test_visibility import read_events
    settings = config(tmp_path, pretrained, epochs=2)
    original = cls.EpochScalars.on_epoch_end

    def die_after_the_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(cls.EpochScalars, "on_epoch_end", die_after_the_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        cls.train_classifier(settings)
    monkeypatch.setattr(cls.EpochScalars, "on_epoch_end", original)
    cls.train_classifier(settings)
    steps = [step for step, _ in read_events(str(tmp_path / "cls" / "tensorboard"))[
        "classifier/accuracy"]]
    assert sorted(steps) == [1, 2]


@pytest.mark.slow
def test_label_fraction_trains_on_a_share_of_every_class(tmp_path, pretrained):
    report = cls.train_classifier(config(tmp_path, pretrained, label_fraction=0.125,
                                         strategy="mirrored"))  # under a strategy scope
    trained = (tmp_path / "cls" / "train_list.txt").read_text().split("\n")
    assert report["trained_on"] == len([l for l in trained if l and not l.startswith("#")])
    assert synthetic.NUM_CLASSES <= report["trained_on"] < 24


@pytest.mark.slow
def test_test_clips_average_the_logits_of_spread_windows(tmp_path, pretrained):
    from vgan_tf.data import ClipOptions, ListSource, ReadOptions, video_dataset
    from vgan_tf.metrics import classification as scores
    base = config(tmp_path, pretrained, regime="random_init", pretrained="", frames=4,
                  size=16)  # 4 of the strips' 8 frames: the windows differ
    classifier = cls.build_classifier(base)
    assert cls.test_positions(1) == [0.5] and cls.test_positions(3) == [0.0, 0.5, 1.0]
    passes = []
    for position in (0.0, 0.5, 1.0):
        data = video_dataset(ListSource(pretrained[2]), ClipOptions(4, 16, window="center",
                                                                  position=position), 8,
                             ReadOptions(shuffle=False, repeat=False, with_labels=True))
        passes.append(np.concatenate([classifier(v, training=False).numpy() for v, _ in data]))
        labels = np.concatenate([l.numpy() for _, l in data])
    assert not np.allclose(passes[0], passes[2])  # different windows, different logits
    expected = scores.classification_report(np.mean(passes, axis=0), labels, 8)
    report = cls.evaluate(classifier, base.replace(test_clips=3))
    assert report["confusion"] == expected["confusion"] and report["test_clips"] == 3
    single = cls.evaluate(classifier, base)
    assert single["confusion"] == scores.classification_report(passes[1], labels,
                                                               8)["confusion"]


@pytest.mark.slow
def test_bad_input_is_named(tmp_path, pretrained):
    with pytest.raises(ValueError, match="does not match the classifier"):
        cls.train_classifier(config(tmp_path, pretrained, base_width=16))
    with pytest.raises(ValueError, match=r"train.txt:\d+: class label \d is out of range "
                                         "for 4 classes"):
        cls.train_classifier(config(tmp_path, pretrained, num_classes=4))
    with pytest.raises(ValueError, match="class 8 has no entry"):
        cls.train_classifier(config(tmp_path, pretrained, num_classes=9, label_fraction=0.5))
    with pytest.raises(ValueError, match="needs --pretrained"):
        config(tmp_path, pretrained, pretrained="").validate()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        cls.pretrained_discriminator(str(tmp_path))


@pytest.mark.slow
def test_binaries_train_then_evaluate(tmp_path, pretrained):
    run, train, test = pretrained
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "cls"
    trained = subprocess.run(
        [sys.executable, "-m", "tools.finetune_classifier", "--preset=tiny",
         f"--model_dir={out}", f"--train_list={train}", f"--test_list={test}",
         f"--num_classes={synthetic.NUM_CLASSES}", "--regime=linear", f"--pretrained={run}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "top1 " in trained.stdout and (out / "classifier.keras").exists()
    evaluated = subprocess.run(
        [sys.executable, "-m", "tools.evaluate_classifier",
         f"--classifier={out / 'classifier.keras'}", f"--test_list={test}",
         f"--out_dir={tmp_path / 'eval'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    first = json.load(open(out / "report.json"))
    again = json.load(open(tmp_path / "eval" / "report.json"))
    assert again["confusion"] == first["confusion"] and again["top1"] == first["top1"]
    missing = subprocess.run(
        [sys.executable, "-m", "tools.finetune_classifier", "--preset=tiny",
         f"--model_dir={out}2", f"--train_list={train}", f"--test_list={test}",
         "--regime=finetune", f"--pretrained={tmp_path}/nothing"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "nothing" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_the_sizes_come_from_the_pretrained_run_unless_given(tmp_path, pretrained):
    paper = config(tmp_path, pretrained, frames=32, size=64, base_width=64)
    taken = cls.with_pretrained_sizes(paper)
    taken_sizes = (taken.model.frames, taken.model.size, taken.model.base_width)
    assert taken_sizes == (8, 16, 8)  # the tiny run's
    with pytest.raises(ValueError, match=r"--size=64 \(the pretrained network: 16\)"):
        cls.with_pretrained_sizes(paper, given={"size"})
    assert cls.with_pretrained_sizes(taken, given={"size", "frames"}) == taken
    fresh = config(tmp_path, pretrained, regime="random_init", pretrained="", frames=32)
    assert cls.with_pretrained_sizes(fresh, given={"frames"}) == fresh
