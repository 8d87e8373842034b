"""The importer against untrusted files: seeded mutants of small valid .t7 files
(t7_fuzz.py) either load or are refused with one T7FormatError line naming the file, and
no file makes reading and matching allocate more than a bounded multiple of its size."""
from __future__ import annotations

import collections
import tracemalloc

import numpy as np
import pytest

from tests.interop import t7_fuzz
from tests.interop import t7_writer as w
from vgan_tf.interop import t7, torch7

PEAK_SLACK = t7_fuzz.PEAK_SLACK
SMALL_BASES = ("views", "discriminator", "discriminator-cudnn-cuda")


@pytest.fixture(scope="module")
def bases():
    by_name = {base.name: base for base in t7_fuzz.base_files()}
    for base in by_name.values():  # the bases themselves load, and warm up the imports
        assert t7_fuzz.check(base.data).ending == ("refused" if base.name == "views"
                                                   else "loaded")
    return by_name


def _run(count, seed, names=None, traced=False):
    """[(base name, what changed, size, Outcome)] for `count` mutants."""
    out = []
    if traced:
        tracemalloc.start()
    try:
        for base, what, data in t7_fuzz.mutants(count, seed, names=names):
            out.append((base, what, len(data), t7_fuzz.check(data)))
    finally:
        if traced:
            tracemalloc.stop()
    return out


def _crashes(results):
    return [f"{base} {what}: {o.detail}" for base, what, _, o in results
            if o.ending == "crashed"]


def _too_big(results):
    return [f"{base} {what}: {o.peak} bytes for a file of {size}"
            for base, what, size, o in results if o.peak > t7_fuzz.bound(size)]


def _sizes_of(matched):
    return matched.kind, matched.sizes


@pytest.mark.slow
def test_mutants_load_or_are_refused_in_one_line(bases):
    results = _run(2400, seed=0)
    assert not _crashes(results), "\n".join(_crashes(results)[:10])
    endings = collections.Counter(o.ending for _, _, _, o in results)
    assert endings["refused"] > 1200 and endings["loaded"] > 100, endings
    # A mutant that loads is its base network: the file's weights pin the sizes.
    expected = {name: _sizes_of(t7_fuzz.check(base.data).matched)
                for name, base in bases.items() if name != "views"}
    for base, what, _, outcome in results:
        if outcome.ending == "loaded":
            assert _sizes_of(outcome.matched) == expected[base], (base, what)


@pytest.mark.slow
def test_mutants_allocate_a_bounded_multiple_of_their_size(bases):
    results = _run(600, seed=1, names=SMALL_BASES, traced=True)
    assert not _crashes(results), "\n".join(_crashes(results)[:10])
    assert not _too_big(results), "\n".join(_too_big(results)[:10])
    huge_views = [o for _, what, _, o in results if "stride=0" in what]
    assert len(huge_views) > 25 and all(o.peak < PEAK_SLACK for o in huge_views)


@pytest.mark.slow
def test_many_more_mutants_of_every_base_traced(bases):
    results = _run(6000, seed=2, traced=True)
    assert not _crashes(results), "\n".join(_crashes(results)[:10])
    assert not _too_big(results), "\n".join(_too_big(results)[:10])


def test_the_fuzzer_changes_every_kind_of_structure_field():
    kinds = collections.Counter()
    for _, what, _ in t7_fuzz.mutants(2400, seed=0):
        kinds[what.split("@")[0]] += 1
    for kind in ("tag", "index", "count", "length", "class", "version", "bool", "number",
                 "ndim", "size", "stride", "offset", "storage_size", "bytes", "truncated",
                 "deleted", "inserted", "repeated"):
        assert kinds[kind] >= 5, (kind, kinds)
    assert sum(1 for _, what, _ in t7_fuzz.mutants(2400, seed=0) if "stride=0" in what) > 100
    again = [what for _, what, _ in t7_fuzz.mutants(50, seed=0)]
    assert again == [what for _, what, _ in t7_fuzz.mutants(50, seed=0)]  # seeded


def _raise(error):
    def loader(data):
        raise error
    return loader


def test_the_checker_tells_crashes_from_refusals():
    assert t7_fuzz.check(b"", _raise(t7.T7FormatError("mutant.t7: bad"))).ending == "refused"
    for error in (IndexError("x"), OverflowError("y"), ValueError("mutant.t7: untyped"),
                  t7.T7FormatError("mutant.t7: two\nlines"),
                  t7.T7FormatError("other.t7: names another file")):
        outcome = t7_fuzz.check(b"", _raise(error))
        assert outcome.ending == "crashed", error
    tracemalloc.start()
    try:
        outcome = t7_fuzz.check(b"", lambda data: np.ones(1 << 21))  # 16 MiB
    finally:
        tracemalloc.stop()
    assert outcome.ending == "loaded" and outcome.peak >= 8 << 21


def _worst_cases():
    """Files that make the most Python objects or copies per byte, built on purpose."""
    n = 2000
    storage = w.Storage(np.zeros(20_000, np.float32))
    one = w.Storage(np.zeros(1, np.float32))
    return {
        "empty tables": [{} for _ in range(n)],
        "modules": [w.Module("nn.ReLU", {}) for _ in range(n)],
        "empty tensors": [w.empty() for _ in range(n)],
        "empty storages": [w.Storage(np.zeros(0, np.float32)) for _ in range(n)],
        "one-element tensors": [w.tensor(np.zeros(1, np.float32)) for _ in range(n)],
        "numbers": [0.5] * n,
        "string keys": {str(i): None for i in range(n)},
        "whole-storage views": [w.Tensor(storage, (20_000,)) for _ in range(100)],
        "a huge stride-0 view": w.Tensor(one, (1 << 28,), stride=(0,)),
        "stride-0 views": [w.Tensor(one, (1 << 14,), stride=(0,)) for _ in range(100)],
        "a huge empty tensor": w.Tensor(one, (0, 1 << 62, 1 << 62), stride=(1, 1, 1)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_worst_cases()))
def test_worst_case_files_stay_within_the_bound(name):
    data = w.dumps(_worst_cases()[name])
    tracemalloc.start()
    try:
        outcome = t7_fuzz.check(data, lambda d: t7.parse_t7(d, name=t7_fuzz.NAME))
    finally:
        tracemalloc.stop()
    assert outcome.ending in ("loaded", "refused"), outcome.detail
    assert outcome.peak <= t7_fuzz.bound(len(data)), (outcome.peak, len(data))
    refused_because = {"whole-storage views": "copied out of a file",
                       "a huge stride-0 view": "copied out of a file",
                       "stride-0 views": "copied out of a file",
                       "a huge empty tensor": "far larger than the file"}
    if name in refused_because:
        assert outcome.ending == "refused", name
        assert refused_because[name] in outcome.detail, outcome.detail


def test_a_refusal_from_the_tree_is_the_same_error_class(tmp_path, bases):
    data = bases["discriminator"].data.replace(b"nn.LeakyReLU", b"nn.LeakyReLV")
    path = tmp_path / "netD.t7"
    path.write_bytes(data)
    with pytest.raises(t7.T7FormatError, match=r"netD.t7: modules\[2\]: expected LeakyReLU"):
        torch7.load_model(str(path))
    assert issubclass(torch7.StructureError, t7.T7FormatError)
    assert issubclass(t7.T7FormatError, ValueError)
