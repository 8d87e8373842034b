"""The released Torch7 VideoGAN networks (cvondrick/videogan main.lua) as Keras models.

    from vgan_tf.interop import torch7
    generator = torch7.load_model("golf/iter100000_net.t7")      # a TwoStreamGenerator
    discriminator = torch7.load_model("golf/iter100000_netD.t7")  # a Discriminator
    torch7.convert("golf/iter100000_net.t7", "golf.keras", export_base="/models")

The file is read as data (`t7.parse_t7`: nothing is executed or unpickled), its module
tree is matched module by module against the tree main.lua builds (`match_tree`, no
Keras), and each weight goes to the Keras layer of the same role. Sizes (latent size, widths, frames, frame size) are
read from the file; the tree must be main.lua's for those sizes (any number of k4 s2 p1
blocks, so a narrower or smaller copy of the network imports too). The first module that
differs is named by its path from the root, 1-based as in Lua, e.g.
`modules[1].modules[1].modules[3]: expected VolumetricBatchNormalization, found nn.ReLU`.
Every refusal of a file (`load_model`, `match_t7`, `convert`) is one line of
`t7.T7FormatError` naming the file: the reader's (malformed bytes) or its subclass
`StructureError` (a tree that is not main.lua's, non-finite weights or fields).

Accepted: class names `nn.*` and `cudnn.*` (cudnn.convert's renaming), Float, Double and
CUDA tensors, weights that are views into one flat storage (getParameters), BN modules
saved in training mode (the running statistics are used, as net:evaluate() does), BN
files with `running_std` (written before BN class version 2: variance = std^-2 - eps) and
VolumetricFullConvolution files from before its `adj` fields (weight [out, in, ...],
padding named pT/pW/pH), as nn's own loader accepts them.

Layouts: SpatialFullConvolution [in, out, kH, kW] -> Conv2DTranspose [kH, kW, out, in];
VolumetricFullConvolution [in, out, kT, kH, kW] -> Conv3DTranspose [kT, kH, kW, out, in];
VolumetricConvolution [out, in, kT, kH, kW] -> Conv3D [kT, kH, kW, in, out]; no kernel
flip. The discriminator's two logits [real, fake] become one logit, real - fake: the same
decision and the same softmax probability of "real" (sigmoid of the difference).
"""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from vgan_tf import config as config_lib
from vgan_tf import config_flags
from vgan_tf.interop.options import DISCRIMINATOR, GENERATOR, KINDS, ImportConfig
from vgan_tf.interop.t7 import T7FormatError, T7Object, parse_t7
from vgan_tf.models import Discriminator, TwoStreamGenerator
from vgan_tf.models import blocks as blocks_lib

_PREFIXES = ("nn.", "cudnn.")
_ROOT = "<root>"
MAX_UPSAMPLINGS = 12  # frame size 4 * 2**12: far beyond any VideoGAN, far below overflow


class StructureError(T7FormatError):
    """The file's module tree is not the original's; the message names the module path.

    A T7FormatError, so that one class covers every file the importer refuses."""


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """What one (full) convolution of main.lua must be, and where its weights go.

    kind: the class without prefix (VolumetricFullConvolution, SpatialFullConvolution,
    VolumetricConvolution); cin/cout: nInputPlane/nOutputPlane; kernel: (kT,) kH, kW;
    stride and pad: the same on every axis; name: the Keras layer; head "two_logits":
    D's last convolution, whose two outputs become one logit (real - fake)."""

    kind: str
    cin: int
    cout: int
    kernel: tuple
    stride: int
    pad: int
    name: str
    head: str | None = None


def _kind(obj) -> str | None:
    """The class name without its nn. / cudnn. prefix, or None for a non-module."""
    if not isinstance(obj, T7Object):
        return None
    for prefix in _PREFIXES:
        if obj.class_name.startswith(prefix):
            return obj.class_name[len(prefix):]
    return obj.class_name


def _describe(obj) -> str:
    if obj is None:
        return "nothing"
    if isinstance(obj, T7Object):
        return obj.class_name
    return f"a {type(obj).__name__}"


def _child_path(path: str, index: int) -> str:
    return f"modules[{index}]" if path == _ROOT else f"{path}.modules[{index}]"


class _Match:
    """Checks one module tree against the expected one, collecting Keras weights."""

    def __init__(self):
        self.weights = {}  # Keras layer name -> list of numpy arrays

    def fail(self, path, message):
        raise StructureError(f"{path}: {message}")

    def module(self, obj, path, kind):
        if _kind(obj) != kind:
            self.fail(path, f"expected {kind}, found {_describe(obj)}")
        return obj

    def children(self, obj, path, kind, count=None) -> list:
        self.module(obj, path, kind)
        table = obj.get("modules")
        if not isinstance(table, dict) or any(type(key) is not int for key in table) or (
                set(table) != set(range(1, len(table) + 1))):
            self.fail(path, f"a {kind} without a list of modules")
        found = [table[i] for i in range(1, len(table) + 1)]
        if count is not None and len(found) < count:
            self.fail(_child_path(path, len(found) + 1),
                      f"expected a module, found nothing ({kind} of {len(found)} modules, "
                      f"{count} expected)")
        if count is not None and len(found) > count:
            self.fail(_child_path(path, count + 1),
                      f"expected nothing (the end of the {kind}), found "
                      f"{_describe(found[count])} ({len(found)} modules, {count} expected)")
        return found

    def number(self, obj, path, field, default=None):
        value = obj.get(field, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found = "missing" if value is None else _describe(value)
            self.fail(path, f"{_kind(obj)} {field}: expected a number, found {found}")
        return value

    def equal(self, obj, path, field, expected, default=None, rel=0.0):
        value = self.number(obj, path, field, default)
        if not abs(value - expected) <= rel * abs(expected):  # NaN is never equal
            self.fail(path, f"{_kind(obj)} {field}: expected {expected:g}, found {value:g}")

    def tensor(self, obj, path, field, shape) -> np.ndarray:
        value = obj.get(field)
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            self.fail(path, f"{_kind(obj)} {field}: expected a float tensor, found "
                            f"{_describe(value)}")
        if tuple(value.shape) != tuple(shape):
            if value.size == math.prod(shape) and value.ndim == 2 and value.shape[0] == shape[0]:
                value = value.reshape(shape)  # a convolution weight kept as a matrix
            else:
                self.fail(path, f"{_kind(obj)} {field}: expected shape {list(shape)}, "
                                f"found {list(value.shape)}")
        return self.finite(path, f"{_kind(obj)} {field}", np.asarray(value, np.float32))

    def finite(self, path, what, array) -> np.ndarray:
        """`array` if every value is finite (after the cast to float32)."""
        if not np.isfinite(array).all():
            self.fail(path, f"{what}: values that are not finite numbers (as float32)")
        return array

    # --- layers -----------------------------------------------------------------------

    def conv(self, obj, path, spec: ConvSpec):
        """A (full) convolution of the geometry `spec` describes; its weights go to the
        Keras layer `spec.name`."""
        kind, cin, cout, kernel = spec.kind, spec.cin, spec.cout, tuple(spec.kernel)
        self.module(obj, path, kind)
        axes = "THW"[-len(kernel):]
        old_full = kind == "VolumetricFullConvolution" and "adjW" not in obj.fields
        self.equal(obj, path, "nInputPlane", cin)
        self.equal(obj, path, "nOutputPlane", cout)
        for axis, k in zip(axes, kernel):
            self.equal(obj, path, f"k{axis}", k)
            self.equal(obj, path, f"d{axis}", spec.stride)
            pad_name = f"p{axis}" if old_full and f"pad{axis}" not in obj.fields else f"pad{axis}"
            self.equal(obj, path, pad_name, spec.pad, default=0)
            if "Full" in kind:
                self.equal(obj, path, f"adj{axis}", 0, default=0)
        rank = len(kernel)
        if "Full" in kind:
            if old_full:  # nn's backCompatibility: old files store [out, in, ...]
                weight = self.tensor(obj, path, "weight", (cout, cin) + kernel)
                weight = np.swapaxes(weight, 0, 1)
            else:
                weight = self.tensor(obj, path, "weight", (cin, cout) + kernel)
        else:
            weight = self.tensor(obj, path, "weight", (cout, cin) + kernel)
        bias = self.tensor(obj, path, "bias", (cout,))
        # [in, out, k...] (full) and [out, in, k...] (conv) -> [k..., out, in] / [k..., in, out]
        kernel_array = np.transpose(weight, tuple(range(2, 2 + rank)) + (1, 0))
        if spec.head == "two_logits":
            kernel_array = self.finite(path, "the logit difference",
                                       kernel_array[..., :1] - kernel_array[..., 1:])
            bias = self.finite(path, "the logit difference", bias[:1] - bias[1:])
        self.weights[spec.name] = [np.ascontiguousarray(kernel_array), bias]

    def batch_norm(self, obj, path, kind, width, eps, name):
        self.module(obj, path, kind)
        self.equal(obj, path, "eps", eps, rel=1e-6)
        if obj.get("affine", True) is False:
            self.fail(path, f"{kind} without weight and bias (affine=false)")
        gamma = self.tensor(obj, path, "weight", (width,))
        beta = self.tensor(obj, path, "bias", (width,))
        mean = self.tensor(obj, path, "running_mean", (width,))
        if isinstance(obj.get("running_var"), np.ndarray) and obj.get("running_var").size:
            var = self.tensor(obj, path, "running_var", (width,))
        elif isinstance(obj.get("running_std"), np.ndarray):  # BN class version 1
            std = self.tensor(obj, path, "running_std", (width,)).astype(np.float64)
            var = self.finite(path, f"{kind} running_std", (std ** -2 - eps).astype(np.float32))
        else:
            self.fail(path, f"{kind} has neither running_var nor running_std")
        self.weights[name] = [gamma, beta, mean, var]

    def plain(self, obj, path, kind, **fields):
        self.module(obj, path, kind)
        for field, expected in fields.items():
            self.equal(obj, path, field, expected, rel=1e-6)


def _field_int(match, obj, path, kind, field) -> int:
    match.module(obj, path, kind)
    value = match.number(obj, path, field)
    if not math.isfinite(value) or value != int(value) or value < 1:
        match.fail(path, f"{kind} {field}: expected a positive integer, found {value:g}")
    return int(value)


def _blocks(match, path, blocks) -> int:
    """The number of upsampling blocks a Sequential's length implies (at least 1)."""
    if blocks > MAX_UPSAMPLINGS:
        match.fail(path, f"{blocks} blocks of (convolution, batch norm, activation): a "
                         f"VideoGAN has 1 to {MAX_UPSAMPLINGS}")
    return max(1, blocks)


def _sizes(match, path, **kwargs):
    try:
        return config_lib.NetworkSizes(**kwargs)
    except ValueError as error:
        match.fail(path, f"sizes {kwargs} are not a VideoGAN's: {error}")


# --- the generator -------------------------------------------------------------------

def _generator_sizes(match: _Match, root) -> config_lib.NetworkSizes:
    """The sizes main.lua was run with, read from the 3-D stream's first full convolution
    and the stream's length."""
    top = match.children(root, _ROOT, "Sequential")
    p_streams = _child_path(_ROOT, 1)
    streams = match.children(top[0] if top else None, p_streams, "ConcatTable", 2)
    p_video = _child_path(p_streams, 1)
    video = match.children(streams[0], p_video, "Sequential")
    if len(video) < 2:
        match.fail(p_video, f"expected the 3-D stream, found {len(video)} modules")
    first, p_first = video[1], _child_path(p_video, 2)
    latent = _field_int(match, first, p_first, "VolumetricFullConvolution", "nInputPlane")
    seed_frames = _field_int(match, first, p_first, "VolumetricFullConvolution", "kT")
    top_width = _field_int(match, first, p_first, "VolumetricFullConvolution", "nOutputPlane")
    blocks = _blocks(match, p_video, (len(video) - 2) // 3)
    return _sizes(match, p_video, frames=seed_frames * 2 ** blocks, size=4 * 2 ** blocks,
                  latent_dim=latent, base_width=max(1, top_width // 2 ** (blocks - 1)))


def _match_stream(match: _Match, children, path, rank, sizes) -> int:
    """View, then (full conv, BN, ReLU) per width: the common start of both streams
    (rank 3: the video's fg_*, rank 2: the background's bg_*). Returns the 1-based index
    of the stream's next module."""
    full = "VolumetricFullConvolution" if rank == 3 else "SpatialFullConvolution"
    norm = "VolumetricBatchNormalization" if rank == 3 else "SpatialBatchNormalization"
    prefix = "fg" if rank == 3 else "bg"
    seed = ((sizes.layout.seed_frames,) if rank == 3 else ()) + (4, 4)
    match.plain(children[0], _child_path(path, 1), "View")
    cin = sizes.latent_dim
    for i, width in enumerate(sizes.layout.widths):
        at = 2 + 3 * i
        spec = ConvSpec(full, cin, width, seed if i == 0 else (4,) * rank,
                        1 if i == 0 else 2, 0 if i == 0 else 1, f"{prefix}_up{i}")
        match.conv(children[at - 1], _child_path(path, at), spec)
        match.batch_norm(children[at], _child_path(path, at + 1), norm, width,
                         blocks_lib.GENERATOR_BN_EPSILON, f"{prefix}_bn{i}")
        match.plain(children[at + 1], _child_path(path, at + 2), "ReLU")
        cin = width
    return 2 + 3 * len(sizes.layout.widths)


def _match_heads(match: _Match, obj, path, width):
    """The video stream's two heads: foreground (full conv, Tanh) and mask (full conv,
    Sigmoid, L1Penalty)."""
    full = "VolumetricFullConvolution"
    heads = match.children(obj, path, "ConcatTable", 2)
    p_fg, p_mask = _child_path(path, 1), _child_path(path, 2)
    fg = match.children(heads[0], p_fg, "Sequential", 2)
    match.conv(fg[0], _child_path(p_fg, 1),
               ConvSpec(full, width, 3, (4, 4, 4), 2, 1, "fg_out"))
    match.plain(fg[1], _child_path(p_fg, 2), "Tanh")
    mask = match.children(heads[1], p_mask, "Sequential", 3)
    match.conv(mask[0], _child_path(p_mask, 1),
               ConvSpec(full, width, 1, (4, 4, 4), 2, 1, "mask_out"))
    match.plain(mask[1], _child_path(p_mask, 2), "Sigmoid")
    match.plain(mask[2], _child_path(p_mask, 3), "L1Penalty")


def _match_generator(root, match: _Match) -> config_lib.NetworkSizes:
    sizes = _generator_sizes(match, root)
    widths = sizes.layout.widths
    top = match.children(root, _ROOT, "Sequential")
    p_streams = _child_path(_ROOT, 1)
    streams = match.children(top[0], p_streams, "ConcatTable", 2)
    p_video, p_static = _child_path(p_streams, 1), _child_path(p_streams, 2)

    video = match.children(streams[0], p_video, "Sequential", 3 * len(widths) + 2)
    at = _match_stream(match, video, p_video, 3, sizes)
    _match_heads(match, video[at - 1], _child_path(p_video, at), widths[-1])

    static = match.children(streams[1], p_static, "Sequential", 3 * len(widths) + 3)
    at = _match_stream(match, static, p_static, 2, sizes)
    match.conv(static[at - 1], _child_path(p_static, at),
               ConvSpec("SpatialFullConvolution", widths[-1], 3, (4, 4), 2, 1, "bg_out"))
    match.plain(static[at], _child_path(p_static, at + 1), "Tanh")

    top = match.children(root, _ROOT, "Sequential", 4)
    match.plain(top[1], _child_path(_ROOT, 2), "FlattenTable")
    _match_combination(match, top[2], _child_path(_ROOT, 3), sizes.frames)
    match.plain(top[3], _child_path(_ROOT, 4), "CAddTable")
    return sizes


def _match_combination(match, obj, path, frames):
    """mask * foreground + (1 - mask) * background, written as main.lua writes it."""
    parts = match.children(obj, path, "ConcatTable", 2)

    def product(part, p_part, branches):
        seq = match.children(part, p_part, "Sequential", 2)
        p_pair = _child_path(p_part, 1)
        pair = match.children(seq[0], p_pair, "ConcatTable", 2)
        for index, (branch, steps) in enumerate(zip(pair, branches), start=1):
            p_branch = _child_path(p_pair, index)
            if len(steps) == 1:
                match.plain(branch, p_branch, *steps[0][:1], **steps[0][1])
                continue
            chain = match.children(branch, p_branch, "Sequential", len(steps))
            for j, (module, (kind, fields)) in enumerate(zip(chain, steps), start=1):
                match.plain(module, _child_path(p_branch, j), kind, **fields)
        match.plain(seq[1], _child_path(p_part, 2), "CMulTable")

    mask_rgb = [("SelectTable", {"index": 2}), ("Squeeze", {}),
                ("Replicate", {"nfeatures": 3, "dim": 2})]
    product(parts[0], _child_path(path, 1), [[("SelectTable", {"index": 1})], mask_rgb])
    product(parts[1], _child_path(path, 2), [
        [("SelectTable", {"index": 3}), ("Replicate", {"nfeatures": frames, "dim": 3})],
        mask_rgb[:2] + [("MulConstant", {"constant_scalar": -1}),
                        ("AddConstant", {"constant_scalar": 1})] + mask_rgb[2:]])


# --- the discriminator ---------------------------------------------------------------

def _match_discriminator(root, match: _Match) -> config_lib.Layout:
    layers = match.children(root, _ROOT, "Sequential")
    if len(layers) < 4:
        match.fail(_ROOT, f"expected the discriminator, found {len(layers)} modules")
    blocks = _blocks(match, _ROOT, (len(layers) - 1) // 3)
    base_width = _field_int(match, layers[0], _child_path(_ROOT, 1), "VolumetricConvolution",
                            "nOutputPlane")
    p_last = _child_path(_ROOT, 3 * blocks)
    seed_frames = _field_int(match, layers[3 * blocks - 1], p_last, "VolumetricConvolution",
                             "kT")
    sizes = _sizes(match, _ROOT, frames=seed_frames * 2 ** blocks, size=4 * 2 ** blocks,
                   base_width=base_width)
    layout = sizes.layout
    layers = match.children(root, _ROOT, "Sequential", 3 * blocks + 1)
    cin, at = 3, 1
    for i, width in enumerate(layout.widths[::-1]):
        match.conv(layers[at - 1], _child_path(_ROOT, at),
                   ConvSpec("VolumetricConvolution", cin, width, (4, 4, 4), 2, 1, f"d_conv{i}"))
        at += 1
        if i:
            match.batch_norm(layers[at - 1], _child_path(_ROOT, at),
                             "VolumetricBatchNormalization", width,
                             blocks_lib.DISCRIMINATOR_BN_EPSILON, f"d_bn{i}")
            at += 1
        match.plain(layers[at - 1], _child_path(_ROOT, at), "LeakyReLU", negval=0.2)
        at += 1
        cin = width
    match.conv(layers[at - 1], _child_path(_ROOT, at),
               ConvSpec("VolumetricConvolution", cin, 2, (seed_frames, 4, 4), 1, 0, "d_logit",
                        head="two_logits"))
    match.plain(layers[at], _child_path(_ROOT, at + 1), "View")
    return layout


# --- public API ----------------------------------------------------------------------

def detect_kind(tree) -> str:
    """"generator" or "discriminator", from the class of the root's first module."""
    table = tree.get("modules") if isinstance(tree, T7Object) else None
    first = table.get(1) if isinstance(table, dict) else None
    if _kind(tree) == "Sequential" and _kind(first) == "ConcatTable":
        return GENERATOR
    if _kind(tree) == "Sequential" and _kind(first) == "VolumetricConvolution":
        return DISCRIMINATOR
    raise StructureError(
        f"{_ROOT}: expected a VideoGAN generator (Sequential starting with a ConcatTable) "
        f"or discriminator (Sequential starting with a VolumetricConvolution), found "
        f"{_describe(tree)}" + (f" starting with {_describe(first)}" if first else ""))


@dataclasses.dataclass(frozen=True)
class Matched:
    """A tree that is main.lua's network: its kind, its sizes (NetworkSizes for the
    generator, Layout for the discriminator) and {Keras layer name: [arrays]}."""

    kind: str
    sizes: object
    weights: dict


def match_tree(tree, kind: str | None = None) -> Matched:
    """Checks `tree` (from `t7.read_t7`) against main.lua's network and collects its
    weights in Keras layouts, without building a model.

    `kind` None detects it (`detect_kind`). Raises StructureError naming the first module
    path that differs from main.lua's network."""
    kind = kind or detect_kind(tree)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    match = _Match()
    with np.errstate(all="ignore"):  # non-finite results are refused, not warned about
        if kind == GENERATOR:
            sizes = _match_generator(tree, match)
        else:
            sizes = _match_discriminator(tree, match)
    return Matched(kind, sizes, match.weights)


def model_from_tree(tree, kind: str | None = None):
    """The Keras model (TwoStreamGenerator or Discriminator) holding the tree's weights
    (`match_tree`, then the model of those sizes)."""
    return _build(match_tree(tree, kind))


def _build(matched: Matched):
    sizes = matched.sizes
    if matched.kind == GENERATOR:
        model = TwoStreamGenerator(frames=sizes.frames, size=sizes.size,
                                   latent_dim=sizes.latent_dim, base_width=sizes.base_width)
    else:
        model = Discriminator(frames=sizes.frames, size=sizes.size,
                              base_width=sizes.base_width)
    for name, arrays in matched.weights.items():
        model.find_layer(name).set_weights(arrays)
    return model


def match_t7(data: bytes, name: str, kind: str | None = None) -> Matched:
    """`match_tree` of the bytes of a .t7 file; whatever is wrong with the file, the
    error is one T7FormatError line that starts with `name`."""
    tree = parse_t7(data, name=name)
    try:
        return match_tree(tree, kind)
    except StructureError as error:
        raise StructureError(f"{name}: {error}") from None


def load_model(path: str, kind: str | None = None):
    """Reads a .t7 file (as data) and returns its Keras model (see `model_from_tree`);
    a malformed file or a tree that is not main.lua's raises T7FormatError (the latter
    as its subclass StructureError) naming the file, then the byte or module path."""
    with open(path, "rb") as handle:
        data = handle.read()
    return _build(match_t7(data, str(path), kind))


def save_keras_atomically(model, path: str):
    """model.save to a temporary name in the same folder, then rename."""
    if not str(path).endswith(".keras"):
        raise ValueError(f"the output must be a .keras file, got {path}")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@dataclasses.dataclass(frozen=True)
class Conversion:
    """What `convert` wrote: the kind, the model's sizes, the .keras path, the export."""

    kind: str
    config: dict
    keras_path: str
    export_path: str | None = None


def convert(t7_path: str, keras_path: str, kind: str | None = None,
            export_base: str | None = None, **export_kwargs) -> Conversion:
    """Imports `t7_path`, saves it as `keras_path` (atomically) and, with `export_base`,
    exports the generator for TF Serving (`vgan_tf.export.export_generator`, which gets
    `export_kwargs`: model_name, version, ...)."""
    model = load_model(t7_path, kind)
    kind = GENERATOR if isinstance(model, TwoStreamGenerator) else DISCRIMINATOR
    if export_base and kind != GENERATOR:
        raise ValueError(f"{t7_path} holds a discriminator; only generators are exported "
                         "for serving (leave out the export base)")
    save_keras_atomically(model, keras_path)
    export_path = None
    if export_base:
        from vgan_tf import export
        export_path = export.export_generator(model, export_base, **export_kwargs)
    config = {k: v for k, v in model.get_config().items()
              if k in ("frames", "size", "latent_dim", "base_width")}
    return Conversion(kind, config, keras_path, export_path)


def convert_config(config: ImportConfig) -> Conversion:
    """`convert` with the settings of vgan-import-torch7 (checked first, so that a wrong
    setting is refused before anything is written)."""
    config_flags.validate_fields(config)
    export = dict(model_name=config.model_name, version=config.version)
    return convert(config.t7, config.output, kind=config.kind_or_none,
                   export_base=config.export_base, **export)
