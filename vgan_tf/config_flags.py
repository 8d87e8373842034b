"""Settings dataclasses as the single source of flags: name, default, choices, bounds, help.

A config class declares each field with `setting(...)`; `define_flags(cls)` turns every
field into an absl flag of the same name (bool, integer, float, enum, string, or
multi_string for tuples), `validate_fields(config)` checks types, choices and bounds with
messages that name the flag, and `overrides_from_flags(cls)` collects what the user set
on the command line. A binary is then: define flags, build the config, call the library.
`setting(None, ..., required=True)` makes a flag that must be given (absl's required flag:
the missing flag is one parse error naming it).

    @dataclasses.dataclass(frozen=True)
    class Optimisation:
        steps: int = setting(1000, "Training steps.", minimum=1)
        rate: float | None = setting(None, "Learning rate (None: the default).", minimum=0)

    @dataclasses.dataclass(frozen=True)
    class RunConfig:
        out_dir: str = setting("", "Where outputs go.")
        optimisation: Optimisation = section(Optimisation, "How to optimise.")

Sections nest settings (`config.optimisation.steps`) while flags stay flat (`--steps`), so
a setting's name must be unique across the sections of a config. `build(cls, values)`
makes a config from flat {name: value} (the form of presets, flags and config.json files),
`flatten(config)` gives that form back, `replace(config, **values)` changes settings by
their flat names. A setting typed `T | None` takes None (its flag's default may be None).

No TensorFlow here (absl is imported only by the functions that define or read flags).
"""
from __future__ import annotations

import dataclasses
import sys

_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "tuple": tuple}
_OPTIONAL = (" | None", "Optional[")


def setting(default, help: str, *, choices=None, minimum=None, exclusive: bool = False,
            below=None, note: str | None = None, required: bool = False):
    """A dataclass field with its flag's help, choices and bounds.

    minimum: the lowest legal value (inclusive; `exclusive=True` makes it a strict bound);
    below: a strict upper bound; note: what a special value means, shown in the error
    ("0: any size"). Tuples become repeatable string flags (a default of None: no
    default). required: the flag must be given (absl's required flag, so its default must
    be None) and `validate_fields` refuses None.
    """
    if not help or not help.strip():
        raise ValueError("every setting needs a help text")
    if required and default is not None:
        raise ValueError("a required setting's default must be None")
    metadata = dict(help=help, choices=tuple(choices) if choices else None, minimum=minimum,
                    exclusive=exclusive, below=below, note=note, required=required)
    return dataclasses.field(default=default, metadata=metadata)


def section(cls, help: str):
    """A dataclass field holding a nested settings dataclass `cls` (made with its defaults)."""
    if not help or not help.strip():
        raise ValueError("every section needs a help text")
    return dataclasses.field(default_factory=cls, metadata=dict(section=cls, help=help))


def _is_section(field: dataclasses.Field) -> bool:
    return "section" in field.metadata


def _type_name(field: dataclasses.Field) -> str:
    return field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")


def optional(field: dataclasses.Field) -> bool:
    """Whether the setting is typed `T | None` (or Optional[T])."""
    name = _type_name(field)
    return name.endswith(" | None") or name.startswith("Optional[")


def _kind(field: dataclasses.Field) -> type:
    name = _type_name(field)
    if name.endswith(" | None"):
        name = name[:-len(" | None")]
    elif name.startswith("Optional[") and name.endswith("]"):
        name = name[len("Optional["):-1]
    if name not in _TYPES:
        raise TypeError(f"setting {field.name}: unsupported type {field.type!r} (use bool, "
                        "int, float, str or tuple)")
    return _TYPES[name]


def settings(cls) -> list:
    """The fields of `cls` declared with `setting`, those of its sections included (in
    declaration order, depth first); raises TypeError when two share a name."""
    found, seen = [], set()
    for field in dataclasses.fields(cls):
        if _is_section(field):
            nested = settings(field.metadata["section"])
        elif "help" in field.metadata:
            nested = [field]
        else:
            continue
        for leaf in nested:
            if leaf.name in seen:
                raise TypeError(f"{cls.__name__}: setting {leaf.name} is declared twice "
                                "(flags are flat: names must be unique across sections)")
            seen.add(leaf.name)
            found.append(leaf)
    return found


def sections(config) -> list:
    """(config, section configs depth first): every dataclass whose own fields are read."""
    found = [config]
    for field in dataclasses.fields(config):
        if _is_section(field):
            found.extend(sections(getattr(config, field.name)))
    return found


def flatten(config) -> dict:
    """{setting name: value} over the config and its sections (the flat form)."""
    values = {}
    for part in sections(config):
        for field in dataclasses.fields(part):
            if not _is_section(field) and "help" in field.metadata:
                values[field.name] = getattr(part, field.name)
    return values


def _unflatten(cls, values: dict, used: set):
    kwargs = {}
    for field in dataclasses.fields(cls):
        if _is_section(field):
            kwargs[field.name] = _unflatten(field.metadata["section"], values, used)
        elif field.name in values and (field.init or "help" in field.metadata):
            kwargs[field.name] = values[field.name]
            used.add(field.name)
    return cls(**kwargs)


def build(cls, values: dict):
    """`cls` from flat {setting name: value}; unset settings keep their defaults. Raises
    ValueError naming unknown settings."""
    known = {f.name for f in settings(cls)} | {
        f.name for f in dataclasses.fields(cls) if not _is_section(f)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(unknown)}")
    return _unflatten(cls, dict(values), set())


def make(cls, values: dict, what: str):
    """`cls` from flat settings as presets, JSON files and keywords give them: lists become
    tuples and a single string a one-element tuple for tuple settings (data_list="a.txt");
    a ValueError is prefixed with `what` ("training settings: unknown settings: x")."""
    values = dict(values)
    tuples = {f.name for f in settings(cls) if f.type == "tuple"}
    for name in tuples & set(values):
        if isinstance(values[name], str):
            values[name] = (values[name],)
        elif isinstance(values[name], list):
            values[name] = tuple(values[name])
    try:
        return build(cls, values)
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


def replace(config, **values):
    """A copy of `config` with settings changed by their flat names."""
    flat = flatten(config)
    flat.update({f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                 if not _is_section(f) and f.init and f.name not in flat})
    flat.update(values)
    return build(type(config), flat)


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
    for part in sections(config):
        for field in dataclasses.fields(part):
            if not _is_section(field) and "help" in field.metadata:
                _validate_field(field, getattr(part, field.name))


def _validate_field(field: dataclasses.Field, value) -> None:
    kind, name, meta = _kind(field), f"--{field.name}", field.metadata
    if value is None and meta["required"]:
        raise ValueError(f"{name} is required")
    if value is None and optional(field):
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return
    if kind is tuple:
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or not all(
                isinstance(v, str) and v for v in value):
            raise ValueError(f"{name} must be a sequence of non-empty paths or "
                             f"patterns, got {value!r}")
        return
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
    """Defines one absl flag per setting of `cls`, with the field's default and help;
    `required` settings become required flags.

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
            flags.DEFINE_multi_string(default=None if default is None else list(default),
                                      **args)
        elif meta["choices"]:
            flags.DEFINE_enum(default=default, enum_values=list(meta["choices"]), **args)
        else:
            flags.DEFINE_string(default=default, **args)
        if meta["required"]:
            flags.mark_flag_as_required(field.name, flag_values)


def config_from_flags(cls, preset: str | None = None, from_preset=None, flag_values=None):
    """`cls` from the flags given on the command line: `from_preset(preset, **given)` when
    a preset is named, else `build(cls, given)`."""
    overrides = overrides_from_flags(cls, flag_values)
    return from_preset(preset, **overrides) if preset else build(cls, overrides)


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
