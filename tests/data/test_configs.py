"""The settings of the data binaries (make_shards, make_synthetic, data_service,
ucf101_lists) as config dataclasses: their flags keep the names and defaults the binaries
defined by hand, and a bad or missing value is a ValueError naming the flag."""
import dataclasses
import re

import pytest
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.service import ServerConfig
from vgan_tf.data.shard_writer import ShardsConfig
from vgan_tf.data.synthetic import SyntheticConfig
from vgan_tf.data.ucf101 import SplitListsConfig

FLAGS_BEFORE = {  # {flag: default} as the binaries defined them by hand ('list': None then)
    ShardsConfig: dict(list=[], data_root=None, out_dir=None, num_shards=16, num_workers=None,
                       prefix="strips", strip_size=None),
    SyntheticConfig: dict(out_dir=None, num_clips=256, frames=32, size=64, strip_size=None,
                          seed=0, scene="digits"),
    ServerConfig: dict(role=None, port=0, dispatcher=None, worker_host=None, work_dir=None),
    SplitListsConfig: dict(prepared=None, class_index=None, split=[], out_dir=None),
}


def _flags(cls):
    values = flags.FlagValues()
    config_flags.define_flags(cls, values, module_name="binary")
    return values


@pytest.mark.parametrize("cls", list(FLAGS_BEFORE), ids=lambda cls: cls.__name__)
def test_flags_keep_their_names_and_defaults(cls):
    values = _flags(cls)
    assert {f.name: f.default for f in values.get_flags_for_module("binary")} == \
        FLAGS_BEFORE[cls]


def test_enum_flags_keep_their_choices():
    assert _flags(SyntheticConfig)["scene"].parser.enum_values == ["digits", "simple"]
    assert _flags(ServerConfig)["role"].parser.enum_values == ["dispatcher", "worker"]


def test_a_config_from_the_command_line():
    values = _flags(ShardsConfig)
    values(["prog", "--list=a.txt", "--list=b/*.txt", "--out_dir=out", "--num_workers=2"])
    config = config_flags.config_from_flags(ShardsConfig, flag_values=values)
    assert config == ShardsConfig(list=("a.txt", "b/*.txt"), out_dir="out", num_workers=2)
    values = _flags(SyntheticConfig)
    values(["prog", "--out_dir=o", "--scene=simple", "--strip_size=32"])
    config = config_flags.config_from_flags(SyntheticConfig, flag_values=values)
    assert dataclasses.asdict(config) == dict(out_dir="o", num_clips=256, frames=32, size=64,
                                              strip_size=32, seed=0, scene="simple")


@pytest.mark.parametrize("make,message", [
    (lambda: ShardsConfig(out_dir="o"), "--list is required"),
    (lambda: ShardsConfig(list=("a.txt",)), "--out_dir is required"),
    (lambda: ShardsConfig(list=("a.txt",), out_dir="o", num_shards=0),
     "--num_shards must be a positive integer, got 0"),
    (lambda: ShardsConfig(list=("a.txt",), out_dir="o", strip_size=0), "--strip_size"),
    (lambda: SyntheticConfig(), "--out_dir is required"),
    (lambda: SyntheticConfig(out_dir="o", num_clips=0), "--num_clips"),
    (lambda: SyntheticConfig(out_dir="o", size=4), "--size must be >= 8, got 4"),
    (lambda: SyntheticConfig(out_dir="o", scene="city"), "--scene must be one of"),
    (lambda: ServerConfig(), "--role is required"),
    (lambda: ServerConfig(role="broker"), "--role must be one of"),
    (lambda: ServerConfig(role="worker"), "--dispatcher=HOST:PORT is required for "
                                          "--role=worker"),
    (lambda: SplitListsConfig(prepared="p", class_index="c", out_dir="o"),
     "--split is required"),
    (lambda: SplitListsConfig(class_index="c", split=("s",), out_dir="o"),
     "--prepared is required"),
])
def test_a_bad_or_missing_value_names_the_flag(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_good_configs_are_made():
    assert ServerConfig(role="dispatcher").port == 0
    assert ServerConfig(role="worker", dispatcher="h:1").dispatcher == "h:1"
    assert SplitListsConfig("p", "c", ("s",), "o").split == ("s",)
