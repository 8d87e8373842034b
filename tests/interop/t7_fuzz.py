"""A seeded mutation fuzzer for the .t7 importer (tests only).

Small valid files (`base_files`: the smallest generator and discriminator main.lua can
build, in the nn/cudnn, Float/Cuda/Double, flat and old-format variants, and a table of
tensor views, storages and plain values) are mutated (`mutate`) in their structure
fields, as t7_writer.dumps_with_fields locates them (type tags, reference indices,
counts, string lengths, class names and versions, tensor dimensions, sizes, strides,
offsets, storage sizes; one in ten makes a size huge and its stride 0), or in
random bytes (flipped, overwritten, inserted, deleted, truncated). `check` reads a
mutant and matches its tree as the importer does (torch7.match_t7: t7.parse_t7, then
torch7.match_tree) and says how it ended: "loaded", "refused" (the typed error, one
short line naming the file) or "crashed" (anything else), with the peak of memory
allocated meanwhile when tracemalloc is tracing.
"""
from __future__ import annotations

import dataclasses
import random
import struct
import traceback
import tracemalloc

import numpy as np

from tests.interop import t7_writer as w
from tests.interop import torch_nets
from vgan_tf import config as config_lib

NAME = "mutant.t7"
# Peak allocation while reading and matching a file of n bytes stays under
# PEAK_PER_FILE_BYTE * n + PEAK_SLACK: the tensors copied out (t7.copy_budget: 2 n + 64 KiB)
# plus the Python objects the structure becomes (a few bytes per file byte).
PEAK_PER_FILE_BYTE = 12
PEAK_SLACK = 1 << 20
SMALL = config_lib.NetworkSizes(frames=2, size=8, latent_dim=2, base_width=1)

INT32_VALUES = (0, 1, -1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 1 << 16, 1 << 30, 2 ** 31 - 1,
                -2 ** 31)
INT64_VALUES = (0, 1, -1, 2, 3, 1 << 31, (1 << 32) + 1, 1 << 40, 1 << 50, 1 << 62,
                2 ** 63 - 1, -2 ** 63, 10 ** 12)
NUMBERS = (float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 0.5, -0.0, 2.0 ** 53,
           2.0 ** 63, 1e-300, 0.0, -1.0)
CLASSES = ("torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor", "torch.ByteTensor",
           "torch.CudaTensor", "torch.FloatStorage", "torch.DoubleStorage",
           "torch.LongStorage", "torch.CharStorage", "torch.HalfTensor", "nn.Sequential",
           "nn.ConcatTable", "nn.VolumetricConvolution", "cudnn.ReLU", "nn.View", "",
           "V 1")
VERSIONS = ("V inf", "V -inf", "V nan", "V 1e400", "V -1", "V 99999999999999999999999999",
            "V ", "V x", "V 1.5", "V 0x10", "1", "", "V 1 2", "V \x00", "V 2", "V -1e400",
            "torch.FloatTensor")


@dataclasses.dataclass(frozen=True)
class Base:
    name: str
    data: bytes
    fields: tuple


def _views_table():
    storage = w.Storage(np.arange(20, dtype=np.float32))
    shared = {"a": 1}
    return {"t": w.Tensor(storage, (3, 4), stride=(1, 5), offset=2),
            "u": w.Tensor(storage, (2,), offset=18), "x": shared, "y": shared,
            "e": w.empty(), "l": w.long_storage([3, 1, 4]), "d": w.tensor(
                np.ones((2, 2)), "Double"), "s": "text", "b": False, "f": 0.25,
            1: w.Module("nn.ReLU", {"inplace": True}), 2: [1, 2, "three"]}


def base_files() -> list:
    """The valid files every mutant starts from."""
    layout = SMALL.layout
    trees = {
        "generator": torch_nets.generator_tree(SMALL, torch_nets.generator_weights(SMALL)),
        "generator-cudnn-cuda-own": torch_nets.generator_tree(
            SMALL, torch_nets.generator_weights(SMALL), cudnn=True, type_name="Cuda",
            flat=False),
        "generator-old-formats": torch_nets.generator_tree(
            SMALL, torch_nets.generator_weights(SMALL), type_name="Double",
            running_std=True, old_full_conv=True),
        "discriminator": torch_nets.discriminator_tree(
            layout, torch_nets.discriminator_weights(layout)),
        "discriminator-cudnn-cuda": torch_nets.discriminator_tree(
            layout, torch_nets.discriminator_weights(layout), cudnn=True, type_name="Cuda"),
        "views": _views_table(),
    }
    out = []
    for name, tree in trees.items():
        data, fields = w.dumps_with_fields(tree)
        out.append(Base(name, data, tuple(fields)))
    return out


def _put(data: bytearray, pos: int, fmt: str, value):
    struct.pack_into(fmt, data, pos, value)


def _integer(rng, fmt, old):
    values = INT32_VALUES if fmt == "<i" else INT64_VALUES
    low, high = (-2 ** 31, 2 ** 31 - 1) if fmt == "<i" else (-2 ** 63, 2 ** 63 - 1)
    pick = rng.random()
    if pick < 0.6:
        value = rng.choice(values)
    elif pick < 0.85:
        value = old + rng.choice((-2, -1, 1, 2, 1000, -1000, old, 7 * old))
    else:
        value = rng.randint(low, high)
    return min(max(value, low), high)


def _string(data: bytearray, field, text: str) -> bytearray:
    length = struct.unpack_from("<i", data, field.pos - 4)[0]
    raw = text.encode("utf-8")
    return (data[:field.pos - 4] + struct.pack("<i", len(raw)) + raw
            + data[field.pos + length:])


def mutate_structure(data: bytes, fields, rng: random.Random) -> tuple:
    """One structure field changed: (mutant bytes, what was changed)."""
    out = bytearray(data)
    sizes = [f for f in fields if f.kind == "size"]
    if sizes and rng.random() < 0.1:  # the view that once allocated without limit
        field = rng.choice(sizes)
        value = rng.choice((1 << 20, 1 << 28, 1 << 31, 1 << 40, 1 << 62, 2 ** 63 - 1))
        _put(out, field.pos, "<q", value)
        _put(out, field.partner, "<q", 0)
        return bytes(out), f"size@{field.pos}={value},stride=0"
    field = rng.choice(fields)
    if field.fmt == "str":
        text = rng.choice(VERSIONS if field.kind == "version" else CLASSES)
        return bytes(_string(out, field, text)), f"{field.kind}@{field.pos}={text!r}"
    if field.fmt == "<d":
        value = rng.choice(NUMBERS)
        _put(out, field.pos, "<d", value)
        return bytes(out), f"number@{field.pos}={value!r}"
    old = struct.unpack_from(field.fmt, out, field.pos)[0]
    value = _integer(rng, field.fmt, old)
    _put(out, field.pos, field.fmt, value)
    return bytes(out), f"{field.kind}@{field.pos}={value}"


def mutate_bytes(data: bytes, rng: random.Random) -> tuple:
    """Random bytes changed, inserted, deleted, or the file truncated."""
    out = bytearray(data)
    pick = rng.random()
    pos = rng.randrange(len(out))
    if pick < 0.5:
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(out))
            out[at] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        return bytes(out), "bytes"
    if pick < 0.65:
        return bytes(out[:pos]), f"truncated@{pos}"
    if pick < 0.8:
        return bytes(out[:pos] + out[pos + rng.randint(1, 16):]), f"deleted@{pos}"
    if pick < 0.9:
        extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return bytes(out[:pos] + extra + out[pos:]), f"inserted@{pos}"
    span = out[pos:pos + rng.randint(4, 64)]
    return bytes(out[:pos] + span + out[pos:]), f"repeated@{pos}"


def mutants(count: int, seed: int, names=None, structure_share: float = 0.75):
    """`count` mutants, (base name, what changed, bytes), the same for the same seed;
    `names` limits the bases to those named."""
    rng = random.Random(seed)
    bases = [base for base in base_files() if names is None or base.name in names]
    for _ in range(count):
        base = rng.choice(bases)
        if rng.random() < structure_share:
            data, what = mutate_structure(base.data, base.fields, rng)
        else:
            data, what = mutate_bytes(base.data, rng)
        yield base.name, what, data


@dataclasses.dataclass
class Outcome:
    ending: str  # "loaded", "refused" or "crashed"
    peak: int | None  # bytes allocated at most meanwhile (None: tracemalloc was off)
    detail: str = ""  # the error's one line, or the crash's type, message and place
    matched: object = None  # torch7.Matched for a mutant that loaded as a network


def load(data: bytes):
    """What vgan-import-torch7 does to a file, short of building Keras: read, match."""
    from vgan_tf.interop import torch7

    return torch7.match_t7(data, NAME)


def check(data: bytes, loader=load, refusal=None) -> Outcome:
    """Runs `loader(data)` and classifies the ending; `refusal` is the typed error class
    (t7.T7FormatError by default). With tracemalloc tracing, `peak` is the most memory
    allocated above what was allocated before."""
    if refusal is None:
        from vgan_tf.interop import t7
        refusal = t7.T7FormatError
    traced = tracemalloc.is_tracing()
    if traced:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    try:
        matched = loader(data)
        ending, detail = "loaded", ""
    except refusal as error:
        matched, ending, detail = None, "refused", str(error)
        if "\n" in detail or not detail.startswith(NAME + ": ") or len(detail) > 1000:
            ending, detail = "crashed", f"not one short line naming the file: {detail!r}"
    except Exception as error:  # noqa: BLE001 - a crash is what the fuzzer looks for
        matched, ending = None, "crashed"
        frames = traceback.extract_tb(error.__traceback__)[-2:]
        where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in frames)
        detail = f"{type(error).__name__}: {str(error)[:200]} ({where})"
    peak = tracemalloc.get_traced_memory()[1] - before if traced else None
    return Outcome(ending, peak, detail, matched)


def bound(size: int) -> int:
    """The most bytes reading and matching a file of `size` bytes may allocate."""
    return PEAK_PER_FILE_BYTE * size + PEAK_SLACK


def summary(count: int, seed: int, traced: bool, names=None) -> dict:
    """Endings, the kinds of crash, the largest peak and the largest share of `bound`
    used (traced), and the seconds taken."""
    import collections
    import time

    for base in base_files():  # imports and first-call caches out of the measurement
        check(base.data)
    endings, crashes, worst, largest = collections.Counter(), collections.Counter(), 0.0, 0
    start = time.perf_counter()
    if traced:
        tracemalloc.start()
    try:
        for _, _, data in mutants(count, seed, names=names):
            outcome = check(data)
            endings[outcome.ending] += 1
            if outcome.ending == "crashed":
                crashes[outcome.detail.split(":")[0]] += 1
            if traced:
                worst = max(worst, outcome.peak / bound(len(data)))
                largest = max(largest, outcome.peak)
    finally:
        if traced:
            tracemalloc.stop()
    return dict(endings=dict(endings), crashes=dict(crashes),
                largest_peak=largest if traced else None,
                share_of_bound=round(worst, 3) if traced else None,
                seconds=round(time.perf_counter() - start, 1))


if __name__ == "__main__":  # python -m tests.interop.t7_fuzz COUNT SEED [traced]
    import sys

    print(summary(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] == ["traced"]))
