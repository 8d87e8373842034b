"""Settings dataclasses as flags: one source of name, default, choices, bounds and help."""
from __future__ import annotations

import dataclasses

import pytest
from absl import flags

from vgan_tf import config_flags
from vgan_tf.config_flags import setting


@dataclasses.dataclass
class Example:
    steps: int = setting(10, "Training steps.", minimum=1)
    every: int = setting(0, "Steps between lines.", minimum=0, note="0: none")
    rate: float = setting(0.5, "A rate.", minimum=0, exclusive=True)
    beta: float = setting(0.5, "A beta.", minimum=0, below=1)
    mode: str = setting("a", "Which mode.", choices=("a", "b"))
    name: str = setting("", "A name.")
    fast: bool = setting(False, "Go fast.")
    files: tuple = setting((), "Files (repeatable).")
    internal: int = 3  # not a setting: no flag


def parse(*argv):
    values = flags.FlagValues()
    config_flags.define_flags(Example, values, module_name="example")
    values(["prog", *argv])
    return values


def test_flags_carry_the_fields_defaults_help_and_choices():
    values = parse()
    names = {f.name for f in values.get_flags_for_module("example")}
    assert names == {"steps", "every", "rate", "beta", "mode", "name", "fast", "files"}
    assert values["steps"].default == 10 and values["steps"].help == "Training steps."
    assert list(values["mode"].parser.enum_values) == ["a", "b"]
    assert values["files"].default == [] and values["fast"].default is False
    with pytest.raises(flags.Error):
        parse("--mode=c")


def test_overrides_are_the_flags_given_and_tuples_for_repeats():
    values = parse("--steps=4", "--files=x", "--files=y", "--nofast")
    overrides = config_flags.overrides_from_flags(Example, values)
    assert overrides == {"steps": 4, "files": ("x", "y"), "fast": False}
    config = Example(**overrides)
    config_flags.validate_fields(config)
    assert (config.steps, config.every, config.files) == (4, 0, ("x", "y"))


@pytest.mark.parametrize("change,message", [
    (dict(steps=0), "--steps must be a positive integer, got 0"),
    (dict(steps=True), "--steps must be an integer, got True"),
    (dict(every=-1), "--every must be >= 0 (0: none), got -1"),
    (dict(rate=0.0), "--rate must be > 0, got 0.0"),
    (dict(beta=1.0), "--beta must be in [0, 1), got 1.0"),
    (dict(mode="c"), "--mode must be one of ('a', 'b'), got 'c'"),
    (dict(fast="yes"), "--fast must be true or false, got 'yes'"),
    (dict(files="a.txt"), "--files must be a sequence of non-empty paths"),
    (dict(files=("",)), "--files must be a sequence of non-empty paths"),
    (dict(name=3), "--name must be a string, got 3"),
])
def test_validation_names_the_flag(change, message):
    with pytest.raises(ValueError) as info:
        config_flags.validate_fields(dataclasses.replace(Example(), **change))
    assert str(info.value) == message or str(info.value).startswith(message)


def test_validation_accepts_the_defaults_and_integer_rates():
    config_flags.validate_fields(Example())
    config_flags.validate_fields(dataclasses.replace(Example(), rate=2))


def test_a_setting_needs_help_and_a_supported_type():
    with pytest.raises(ValueError, match="help"):
        setting(1, " ")

    @dataclasses.dataclass
    class Bad:
        sizes: list = setting(None, "A list.")

    with pytest.raises(TypeError, match="sizes: unsupported type"):
        config_flags.define_flags(Bad, flags.FlagValues(), module_name="bad")


def test_config_from_flags_applies_a_preset_under_the_given_flags():
    values = parse("--steps=4")
    presets = {"short": dict(steps=2, every=5)}

    def from_preset(name, **overrides):
        return Example(**dict(presets[name], **overrides))

    with_preset = config_flags.config_from_flags(Example, "short", from_preset, values)
    assert (with_preset.steps, with_preset.every) == (4, 5)  # the flag wins over the preset
    plain = config_flags.config_from_flags(Example, None, from_preset, values)
    assert (plain.steps, plain.every) == (4, 0)


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float | None = setting(None, "A rate (None: automatic).", minimum=0, exclusive=True)
    mode: str = setting("a", "Which mode.", choices=("a", "b"))


@dataclasses.dataclass(frozen=True)
class Outer:
    out: str = setting("", "Where.")
    inner: Inner = config_flags.section(Inner, "The inner settings.")


def test_sections_nest_the_config_while_flags_stay_flat():
    values = flags.FlagValues()
    config_flags.define_flags(Outer, values, module_name="outer")
    values(["prog", "--rate=0.5", "--out=x"])
    assert {f.name for f in values.get_flags_for_module("outer")} == {"out", "rate", "mode"}
    assert values["rate"].default is None
    config = config_flags.config_from_flags(Outer, flag_values=values)
    assert config == Outer(out="x", inner=Inner(rate=0.5))
    assert config_flags.flatten(config) == {"out": "x", "rate": 0.5, "mode": "a"}
    assert config_flags.build(Outer, config_flags.flatten(config)) == config
    assert config_flags.replace(config, mode="b").inner == Inner(rate=0.5, mode="b")
    with pytest.raises(ValueError, match="unknown settings: nope"):
        config_flags.build(Outer, {"nope": 1})


def test_make_takes_json_and_keyword_forms_and_names_what_it_builds():
    given = {"files": ["a.txt", "b.txt"], "steps": 4}
    assert config_flags.make(Example, given, "example settings") == Example(
        steps=4, files=("a.txt", "b.txt"))
    assert given["files"] == ["a.txt", "b.txt"]  # the caller's dict is left alone
    assert config_flags.make(Example, {"files": "a.txt"}, "x").files == ("a.txt",)
    with pytest.raises(ValueError, match=r"^example settings: unknown settings: nope$"):
        config_flags.make(Example, {"nope": 1}, "example settings")


def test_optional_settings_take_none_and_are_checked_when_set():
    config_flags.validate_fields(Outer())
    with pytest.raises(ValueError, match="--rate must be > 0, got 0"):
        config_flags.validate_fields(config_flags.replace(Outer(), rate=0))
    with pytest.raises(ValueError, match="--mode must be one of"):
        config_flags.validate_fields(config_flags.replace(Outer(), mode="c"))


def test_a_name_used_in_two_sections_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Twice:
        mode: str = setting("a", "Mode again.")
        inner: Inner = config_flags.section(Inner, "Inner.")

    with pytest.raises(TypeError, match="mode is declared twice"):
        config_flags.settings(Twice)


@dataclasses.dataclass(frozen=True)
class Run:
    inputs: tuple | None = setting(None, "Inputs (repeatable).", required=True)
    out: str | None = setting(None, "Where.", required=True)
    workers: int | None = setting(None, "Processes (default: cores).", minimum=1)


def test_required_settings_are_required_flags_and_refuse_none():
    values = flags.FlagValues()
    config_flags.define_flags(Run, values, module_name="run")
    assert values["inputs"].default is None and values["out"].default is None
    with pytest.raises(flags.IllegalFlagValueError, match="--inputs must have a value"):
        values(["prog", "--out=x"])
    values(["prog", "--inputs=a", "--inputs=b", "--out=x"])
    config = config_flags.config_from_flags(Run, flag_values=values)
    assert config == Run(inputs=("a", "b"), out="x")
    config_flags.validate_fields(config)
    with pytest.raises(ValueError, match="^--out is required$"):
        config_flags.validate_fields(Run(inputs=("a",)))
    with pytest.raises(ValueError, match="--workers must be a positive integer, got 0"):
        config_flags.validate_fields(Run(inputs=("a",), out="x", workers=0))
    with pytest.raises(ValueError, match="default must be None"):
        setting("x", "A required path.", required=True)
