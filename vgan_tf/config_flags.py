"""Settings dataclasses as the single source of flags: name, default, choices, bounds, help.

A config class declares each field with `setting(...)`; `define_flags(cls)` turns every
field into an absl flag of the same name (bool, integer, float, enum, string, or
multi_string for tuples), `validate_fields(config)` checks types, choices and bounds with
messages that name the flag, and `overrides_from_flags(cls)` collects what the user set
on the command line. A binary is then: define flags, build the config, call the library.

    @dataclasses.dataclass
    class RunConfig:
        steps: int = setting(1000, "Training steps.", minimum=1)
        precision: str = setting("fp32", "Precision.", choices=("fp32", "bf16"))

No TensorFlow here (absl is imported only by the functions that define or read flags).
"""
from __future__ import annotations

import dataclasses
import sys

_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "tuple": tuple}


def setting(default, help: str, *, choices=None, minimum=None, exclusive: bool = False,
            below=None, note: str | None = None):
    """A dataclass field with its flag's help, choices and bounds.

    minimum: the lowest legal value (inclusive; `exclusive=True` makes it a strict bound);
    below: a strict upper bound; note: what a special value means, shown in the error
    ("0: any size"). Tuples become repeatable string flags.
    """
    if not help or not help.strip():
        raise ValueError("every setting needs a help text")
    metadata = dict(help=help, choices=tuple(choices) if choices else None, minimum=minimum,
                    exclusive=exclusive, below=below, note=note)
    return dataclasses.field(default=default, metadata=metadata)


def _kind(field: dataclasses.Field) -> type:
    name = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if name not in _TYPES:
        raise TypeError(f"setting {field.name}: unsupported type {field.type!r} (use bool, "
                        "int, float, str or tuple)")
    return _TYPES[name]


def settings(cls) -> list:
    """The fields of `cls` declared with `setting` (those that have a help text)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def _bound_message(field, kind) -> str:
    meta = field.metadata
    low, below = meta["minimum"], meta["below"]
    if low is not None and below is not None:
        text = f"must be in {'(' if meta['exclusive'] else '['}{low}, {below})"
    elif kind is int and low == 1 and not meta["exclusive"]:
        text = "must be a positive integer"
    elif low is not None:
        text = f"must be {'>' if meta['exclusive'] else '>='} {low}"
    else:
        text = f"must be < {below}"
    return text + (f" ({meta['note']})" if meta["note"] else "")


def validate_fields(config) -> None:
    """Raises ValueError naming the flag of the first field with a wrong type, a value
    outside its choices, or a value outside its bounds."""
    for field in settings(type(config)):
        kind, value, name = _kind(field), getattr(config, field.name), f"--{field.name}"
        meta = field.metadata
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            continue
        if kind is tuple:
            if isinstance(value, str) or not isinstance(value, (tuple, list)) or not all(
                    isinstance(v, str) and v for v in value):
                raise ValueError(f"{name} must be a sequence of non-empty paths or "
                                 f"patterns, got {value!r}")
            continue
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            expected = {int: "an integer", float: "a number", str: "a string"}[kind]
            raise ValueError(f"{name} must be {expected}, got {value!r}")
        if meta["choices"] and value not in meta["choices"]:
            raise ValueError(f"{name} must be one of {meta['choices']}, got {value!r}")
        low, below = meta["minimum"], meta["below"]
        if (low is not None and (value <= low if meta["exclusive"] else value < low)) or (
                below is not None and value >= below):
            raise ValueError(f"{name} {_bound_message(field, kind)}, got {value!r}")


def _caller_module(depth: int = 2) -> str:
    name = sys._getframe(depth).f_globals.get("__name__", "__main__")
    return sys.argv[0] if name == "__main__" else name


def define_flags(cls, flag_values=None, module_name: str | None = None) -> None:
    """Defines one absl flag per setting of `cls`, with the field's default and help.

    The flags are registered as the calling module's (what --helpshort shows)."""
    from absl import flags

    flag_values = flags.FLAGS if flag_values is None else flag_values
    module_name = module_name or _caller_module()
    for field in settings(cls):
        kind, meta = _kind(field), field.metadata
        args = dict(name=field.name, help=meta["help"], flag_values=flag_values,
                    module_name=module_name)
        default = field.default
        if kind is bool:
            flags.DEFINE_bool(default=default, **args)
        elif kind is int:
            flags.DEFINE_integer(default=default, **args)
        elif kind is float:
            flags.DEFINE_float(default=default, **args)
        elif kind is tuple:
            flags.DEFINE_multi_string(default=list(default), **args)
        elif meta["choices"]:
            flags.DEFINE_enum(default=default, enum_values=list(meta["choices"]), **args)
        else:
            flags.DEFINE_string(default=default, **args)


def config_from_flags(cls, preset: str | None = None, from_preset=None, flag_values=None):
    """`cls` from the flags given on the command line: `from_preset(preset, **given)` when
    a preset is named, else `cls(**given)`."""
    overrides = overrides_from_flags(cls, flag_values)
    return from_preset(preset, **overrides) if preset else cls(**overrides)


def overrides_from_flags(cls, flag_values=None) -> dict:
    """{field: value} for every setting of `cls` given explicitly on the command line
    (or in a --flagfile); lists become tuples."""
    from absl import flags

    flag_values = flags.FLAGS if flag_values is None else flag_values
    overrides = {}
    for field in settings(cls):
        flag = flag_values[field.name]
        if flag.present:
            value = flag.value
            overrides[field.name] = tuple(value) if isinstance(value, list) else value
    return overrides
