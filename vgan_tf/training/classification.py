"""Action recognition from the learned representation: train a classifier, then measure it.

The original (main_ucf.lua) fine-tuned the discriminator as a classifier and printed
training-batch accuracy; here a run trains with `model.fit` and then evaluates on a held-out
list: top-1, top-5, mean per-class accuracy, the confusion matrix (JSON and a picture).

Regimes (`--regime`):
  random_init  the same network, fresh paper initialisation (nothing pretrained);
  linear       pretrained features frozen, BatchNorm in inference mode, only the head
               trains (the paper's "logistic regression" on the representation);
  finetune     pretrained features, everything trains.
Pretrained weights (`--pretrained`) come from a VideoGAN training folder (its config.json
gives the sizes, its latest checkpoint the discriminator) or a `.keras` Discriminator or
VideoGAN file.

Outputs in `model_dir`: classifier.keras, report.json (scores + the run's flat settings),
confusion.png, train_list.txt (the clips trained on, after --label_fraction), backup/
(exact resume of an interrupted fit, keras BackupAndRestore), tensorboard/ (loss,
accuracy and top-5 per epoch).
"""
from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vgan_tf import config_flags, terminal
from vgan_tf.config_flags import section, setting
from vgan_tf.data import ClipOptions, ListSource, ReadOptions, lists, video_dataset
from vgan_tf.data.options import RESIZE_METHODS
from vgan_tf.metrics import classification as scores
from vgan_tf.models import Discriminator
from vgan_tf.models import ActionClassifier
from vgan_tf.tasks import paper_adam
from vgan_tf.training import checkpoints as checkpoints_lib
from vgan_tf.training import strategy as strategy_lib
from vgan_tf.training import summaries

REGIMES = ("random_init", "linear", "finetune")


class EpochScalars(keras.callbacks.Callback):
    """TensorBoard scalars of every epoch's logs (classifier/loss, classifier/accuracy,
    classifier/top5), written without the tensorboard package (summaries.scalar)."""

    def __init__(self, log_dir: str):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                summaries.scalar(f"classifier/{name}", float(value), epoch + 1)
        self.writer.flush()


@dataclasses.dataclass(frozen=True)
class ClassifierDataConfig:
    """The labelled lists, their classes and how clips are read from them."""

    train_list: tuple = setting((), "Labelled list file(s) ('path label' per line) to train "
                                "on (repeat the flag or use globs).")
    test_list: tuple = setting((), "Labelled list file(s) to evaluate on.")
    data_root: str = setting("", "Folder the list paths are relative to (default: each list "
                             "file's folder).")
    num_classes: int = setting(101, "Number of classes.", minimum=1)
    label_base: int = setting(0, "The first class's label in the lists: 0, or 1 for 1-based "
                              "lists such as UCF101's classInd numbering.", minimum=0)
    label_fraction: float = setting(1.0, "Train on this fraction of the training clips of "
                                    "every class (at least one each), drawn with --seed.",
                                    minimum=0, exclusive=True)
    resize: str = setting("dct", "Frame resizing, as for vgan-train.", choices=RESIZE_METHODS)
    test_clips: int = setting(1, "Windows per test video whose logits are averaged: 1 the "
                              "centre window; K spreads K windows evenly over the strip.",
                              minimum=1)


@dataclasses.dataclass(frozen=True)
class ClassifierModelConfig:
    """The regime, the pretrained network and the classifier's sizes."""

    regime: str = setting("finetune", "random_init (fresh network), linear (frozen "
                          "pretrained features, only the head trains) or finetune "
                          "(pretrained, everything trains).", choices=REGIMES)
    pretrained: str = setting("", "A VideoGAN training folder, or a .keras Discriminator or "
                              "VideoGAN file (needed by linear and finetune).")
    frames: int = setting(32, "Frames per clip.", minimum=1)
    size: int = setting(64, "Frame size.", minimum=1)
    base_width: int = setting(64, "The discriminator's base width.", minimum=1)


@dataclasses.dataclass(frozen=True)
class ClassifierTrainingConfig:
    """The optimisation: batch, epochs, Adam, seed."""

    batch_size: int = setting(64, "Global batch size.", minimum=1)
    epochs: int = setting(10, "Epochs (passes over the training clips).", minimum=1)
    learning_rate: float = setting(2e-4, "Adam learning rate.", minimum=0, exclusive=True)
    beta_1: float = setting(0.5, "Adam beta_1.", minimum=0, below=1)
    seed: int = setting(0, "Seed of the initial weights, the data order and "
                        "--label_fraction.")


@dataclasses.dataclass(frozen=True)
class ClassifierRuntimeConfig:
    """Hardware and verbosity of the run."""

    strategy: str = setting("default", "tf.distribute strategy, as for vgan-train.",
                            choices=strategy_lib.STRATEGIES)
    verbose: int = setting(1, "Keras verbosity: 0 silent, 1 progress bar, 2 a line per "
                           "epoch.", choices=(0, 1, 2))


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """One classifier run, in four sections. Defaults are the original's (Adam 2e-4 /
    beta1 0.5).

    Each setting is also the flag of the same name of tools/finetune_classifier.py (flags
    are flat: `--frames` sets `config.model.frames`; vgan_tf.config_flags).
    `config_flags.build(ClassifierConfig, flat)` / `config.flat()` convert from and to
    the flat form of presets, flags and report.json's "settings".
    """

    model_dir: str = setting("", "Folder for the classifier, its report and picture.")
    data: ClassifierDataConfig = section(ClassifierDataConfig,
                                         "The labelled lists and how clips are read.")
    model: ClassifierModelConfig = section(ClassifierModelConfig,
                                           "The regime, pretrained network and sizes.")
    training: ClassifierTrainingConfig = section(ClassifierTrainingConfig,
                                                 "Batch, epochs, Adam and seed.")
    runtime: ClassifierRuntimeConfig = section(ClassifierRuntimeConfig,
                                               "Strategy and verbosity.")

    def validate(self) -> "ClassifierConfig":
        """Raises ValueError naming the offending setting (= flag)."""
        if not self.model_dir:
            raise ValueError("--model_dir is required: the folder for the classifier")
        config_flags.validate_fields(self)
        for name in ("train_list", "test_list"):
            if not getattr(self.data, name):
                raise ValueError(f"--{name} is required: labelled list file(s)")
        model = self.model
        if model.regime != "random_init" and not model.pretrained:
            raise ValueError(f"--regime={model.regime} needs --pretrained (a VideoGAN "
                             "training folder or a .keras discriminator)")
        if model.regime == "random_init" and model.pretrained:
            raise ValueError("--regime=random_init trains from a fresh network: drop "
                             "--pretrained")
        return self

    def replace(self, **values) -> "ClassifierConfig":
        """A copy with settings changed by their flat (flag) names."""
        return config_flags.replace(self, **values)

    def flat(self) -> dict:
        """{setting: value}: the form of presets, flags and report.json's "settings"."""
        return config_flags.flatten(self)


PRESETS = {
    # UCF101 as in the paper's experiment: 101 classes numbered from 1, batch 256.
    "ucf101": dict(num_classes=101, label_base=1, batch_size=256, frames=32, size=64,
                   base_width=64),
    # Seconds on a CPU, for tests and trying things.
    "tiny": dict(frames=8, size=16, base_width=8, batch_size=8, epochs=2, verbose=0),
}


def make(**values) -> ClassifierConfig:
    """A ClassifierConfig from flat settings (the flag names, as presets and report.json's
    "settings" hold them); the rest keep their defaults. Lists become tuples and a single
    path string a one-path tuple (train_list="a.txt")."""
    return config_flags.make(ClassifierConfig, values, "classifier settings")


def from_preset(name: str, **overrides) -> ClassifierConfig:
    """A ClassifierConfig from a named preset, with overrides by flat setting name."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {sorted(PRESETS)}, got {name!r}")
    return make(**dict(PRESETS[name], **overrides))


SIZE_SETTINGS = ("frames", "size", "base_width")


def pretrained_sizes(path: str) -> dict:
    """{frames, size, base_width} of the discriminator at `path` (a training folder's
    config.json, or a .keras Discriminator/VideoGAN file)."""
    if path.endswith(".keras"):
        layout = pretrained_discriminator(path).layout
        return {name: getattr(layout, name) for name in SIZE_SETTINGS}
    settings = os.path.join(path, "config.json")
    if not os.path.isfile(settings):
        raise FileNotFoundError(f"--pretrained: {path} is neither a .keras file nor a "
                                "training folder (no config.json)")
    with open(settings) as handle:
        values = json.load(handle)
    return {name: values[name] for name in SIZE_SETTINGS}


def with_pretrained_sizes(config: ClassifierConfig, given=()) -> ClassifierConfig:
    """`config` with --frames/--size/--base_width taken from --pretrained (when given);
    ValueError naming each of `given` (the flags set explicitly) that contradicts it."""
    model = config.model
    if not model.pretrained:
        return config
    sizes = pretrained_sizes(model.pretrained)
    differ = [f"--{name}={getattr(model, name)} (the pretrained network: {sizes[name]})"
              for name in SIZE_SETTINGS if name in given and getattr(model, name) !=
              sizes[name]]
    if differ:
        raise ValueError(f"--pretrained={model.pretrained} was trained at other sizes: "
                         f"{', '.join(differ)}; drop those flags to take the network's")
    return config.replace(**sizes)


def pretrained_discriminator(path: str) -> Discriminator:
    """The discriminator of a VideoGAN training folder or of a `.keras` file."""
    if path.endswith(".keras"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--pretrained: no such file {path}")
        import importlib
        importlib.import_module("vgan_tf.tasks")  # registers VideoGAN for loading
        model = keras.saving.load_model(path, safe_mode=True)
        model = getattr(model, "discriminator", model)
        if not isinstance(model, Discriminator):
            raise ValueError(f"--pretrained: {path} holds a {type(model).__name__}, not a "
                             "Discriminator or VideoGAN")
        return model
    sizes = pretrained_sizes(path)
    with open(os.path.join(path, "config.json")) as handle:
        if json.load(handle).get("spectral_norm", False):
            raise ValueError(f"--pretrained: {path} trained D with --spectral_norm, whose "
                             "normalised kernels the classifier cannot take yet")
    discriminator = Discriminator(sizes["frames"], sizes["size"], sizes["base_width"])
    latest = tf.train.latest_checkpoint(os.path.join(path, "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"--pretrained: {path}/checkpoints holds no checkpoint")
    tf.train.Checkpoint(discriminator=discriminator).restore(latest).expect_partial()
    logging.info("Pretrained discriminator from %s", latest)
    return discriminator


def build_classifier(config: ClassifierConfig) -> ActionClassifier:
    """The compiled classifier of `config`'s regime (pretrained weights loaded)."""
    model = config.model
    classifier = ActionClassifier(config.data.num_classes, model.frames, model.size,
                                  model.base_width, name="classifier")
    if model.regime != "random_init":
        classifier.load_features(pretrained_discriminator(model.pretrained))
    if model.regime == "linear":
        classifier.freeze_features()
    classifier.compile(
        optimizer=paper_adam(config.training.learning_rate, config.training.beta_1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                 keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")],
        jit_compile=False)
    return classifier


def _common_list_dir(entries) -> str:
    folders = sorted({os.path.dirname(source.rsplit(":", 1)[0]) for source in entries.sources})
    if len(folders) > 1:
        raise ValueError(f"--train_list: list files in several folders ({folders[:2]} ...) "
                         "need --data_root, the folder their paths are relative to")
    return folders[0]


def _labelled(config, list_files, *, train: bool):
    entries = lists.read_lists(list(list_files))
    entries.class_labels(config.data.label_base, config.data.num_classes)  # file:line
    return entries


def _dataset(config, list_file, *, train: bool, position: float = 0.5):
    data = config.data
    clip = ClipOptions(config.model.frames, config.model.size,
                       window="random" if train else "center", resize=data.resize,
                       position=position)
    options = ReadOptions(shuffle=train, seed=config.training.seed, repeat=train,
                          drop_remainder=False, with_labels=True, label_base=data.label_base)
    return video_dataset(ListSource(list_file, data.data_root or None), clip,
                         config.training.batch_size, options)


def test_positions(test_clips: int) -> list:
    """Window positions (0 top .. 1 bottom) of the test clips of a video: the centre for
    one, else evenly spread from the top to the bottom."""
    return [0.5] if test_clips == 1 else list(np.linspace(0.0, 1.0, test_clips))


def evaluate(classifier, config: ClassifierConfig, list_files=None) -> dict:
    """The scores of `classifier` on the test list: per video, the logits of
    `config.data.test_clips` windows averaged (the centre window for 1). The list is read in
    order once per window, so the k-th logits of every pass belong to the same video."""
    data = config.data
    list_files = list(list_files or data.test_list)
    entries = _labelled(config, list_files, train=False)
    passes, labels = [], None
    for position in test_positions(data.test_clips):
        logits, seen = [], []
        for videos, batch_labels in _dataset(config, list_files, train=False,
                                             position=position):
            logits.append(classifier(videos, training=False).numpy())
            seen.append(batch_labels.numpy())
        if not logits:
            raise ValueError(f"no test clip could be read from {list_files}")
        passes.append(np.concatenate(logits))
        labels = np.concatenate(seen)
    report = scores.classification_report(np.mean(passes, axis=0), labels,
                                          data.num_classes)
    report["listed"] = len(entries)
    report["test_clips"] = data.test_clips
    report["label_base"] = data.label_base
    return report


def train_classifier(config: ClassifierConfig) -> dict:
    """Trains the classifier of `config`, evaluates it, writes the outputs; returns the
    report."""
    config.validate()
    data, training = config.data, config.training
    strategy = strategy_lib.make_strategy(config.runtime.strategy)
    os.makedirs(config.model_dir, exist_ok=True)
    entries = _labelled(config, data.train_list, train=True)
    if data.label_fraction < 1:
        entries = lists.label_subset(entries, data.label_fraction, training.seed,
                                     data.label_base, data.num_classes)
    # The clips trained on (after --label_fraction), relative to the training root.
    train_root = data.data_root or _common_list_dir(entries)
    train_list = lists.write_list(os.path.join(config.model_dir, "train_list.txt"),
                                  entries.paths, [int(t) for t in entries.tokens])
    keras.utils.set_random_seed(training.seed)
    with strategy.scope():
        classifier = build_classifier(config)
    steps = max(1, -(-len(entries) // training.batch_size))
    clips = _dataset(config.replace(data_root=train_root), train_list, train=True)
    logging.info("Training %s on %d clips of %d classes (%d steps per epoch)",
                 config.model.regime, len(entries), data.num_classes, steps)
    classifier.fit(clips, epochs=training.epochs, steps_per_epoch=steps, shuffle=False,
                   verbose=terminal.keras_verbose(config.runtime.verbose),
                   callbacks=[keras.callbacks.BackupAndRestore(
                       os.path.join(config.model_dir, "backup")),
                       EpochScalars(os.path.join(config.model_dir, "tensorboard"))])
    checkpoints_lib.save_atomically(classifier,
                                    os.path.join(config.model_dir, "classifier.keras"))
    report = evaluate(classifier, config)
    report["trained_on"] = len(entries)
    report["settings"] = config.flat()  # flat, as before the sections: old reports read
    write_report(report, config.model_dir)
    return report


def write_report(report: dict, out_dir: str) -> list:
    """report.json and confusion.png in out_dir (each written under a temporary name and
    renamed); returns their paths."""
    from PIL import Image

    json_path = os.path.join(out_dir, "report.json")
    tmp = json_path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(report, handle, indent=1, default=list)
    os.replace(tmp, json_path)
    png_path = os.path.join(out_dir, "confusion.png")
    tmp = png_path + ".tmp"
    figure = scores.confusion_figure(report["confusion"], report.get("label_base", 0))
    Image.fromarray(figure).save(tmp, format="PNG")
    os.replace(tmp, png_path)
    return [json_path, png_path]


def summary_line(report: dict) -> str:
    return (f"top1 {report['top1']:.4f}  top5 {report['top5']:.4f}  mean class accuracy "
            f"{report['mean_class_accuracy']:.4f}  on {report['count']} clips "
            f"(chance {report['chance']:.4f})")
