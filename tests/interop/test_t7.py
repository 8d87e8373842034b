"""The Torch7 binary format: the test writer checked by torchfile, and vgan_tf's reader
checked against torchfile and against malformed files."""
from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
import torchfile

from tests.interop import t7_writer as w
from tests.interop import torch_nets
from vgan_tf import config as config_lib
from vgan_tf.interop import t7


def _torchfile(path):
    return torchfile.load(str(path))


def _address(array):
    return array.__array_interface__["data"][0]


def _modules(obj):
    """The children of a torchfile module, in order."""
    return list(obj["modules"] if isinstance(obj["modules"], list) else obj.modules)


@pytest.fixture
def tiny_generator(tmp_path):
    sizes = config_lib.TINY
    weights = torch_nets.generator_weights(sizes)
    path = tmp_path / "net.t7"
    w.save(path, torch_nets.generator_tree(sizes, weights, cudnn=True, type_name="Cuda"))
    return path, weights


def test_the_writer_is_read_back_by_torchfile(tiny_generator):
    path, weights = tiny_generator
    net = _torchfile(path)
    assert net.torch_typename() == b"nn.Sequential"
    streams = _modules(_modules(net)[0])
    video, static = _modules(streams[0]), _modules(streams[1])
    assert [m.torch_typename() for m in video[:4]] == [
        b"nn.View", b"cudnn.VolumetricFullConvolution", b"cudnn.VolumetricBatchNormalization",
        b"cudnn.ReLU"]
    assert static[1].torch_typename() == b"cudnn.SpatialFullConvolution"
    conv, bn = video[1], video[2]
    np.testing.assert_array_equal(conv.weight, weights["fg_up0"]["weight"])
    np.testing.assert_array_equal(static[1].weight, weights["bg_up0"]["weight"])
    np.testing.assert_array_equal(bn.running_var, weights["fg_bn0"]["running_var"])
    assert conv.weight.dtype == np.float32 and conv.padW == 0
    assert conv.kT == config_lib.TINY.layout.seed_frames
    assert video[4].dW == 2 and video[4].padT == 1
    # getParameters: weights of different modules are views into one storage, and
    # gradients into a second one; BN is saved in training mode; column buffers kept.
    # In net:parameters() order fg_up0 is first and bg_out last: the distance between
    # their addresses in memory is exactly their distance in one flat storage.
    total = sum(a.size for p in weights.values() for k, a in p.items()
                if k in ("weight", "bias"))
    assert _address(static[-2].bias) - _address(conv.weight) == 4 * (total - 3)
    offset = conv.weight.size + conv.bias.size + bn.weight.size
    assert _address(bn.gradBias) - _address(conv.gradWeight) == 4 * offset
    assert not np.shares_memory(conv.weight, conv.gradWeight)
    assert conv.gradWeight.shape == conv.weight.shape
    assert bn.train is True and bn._type == b"torch.CudaTensor" and bn.eps == 1e-5
    assert conv.finput.size > 0 and conv.fgradInput.size > 0


def _same(ours, theirs, path="root"):
    """ours (vgan_tf.interop.t7) equals theirs (torchfile) everywhere."""
    if isinstance(ours, t7.T7Object):
        assert ours.class_name.encode() == theirs.torch_typename(), path
        _same(ours.fields, theirs._obj, path)
    elif isinstance(ours, dict):
        items = theirs.items() if isinstance(theirs, dict) else enumerate(theirs, start=1)
        theirs = {k.decode() if isinstance(k, bytes) else k: v for k, v in items}
        assert set(ours) == set(theirs), path
        for key in ours:
            _same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, np.ndarray):
        assert ours.dtype == theirs.dtype, path
        np.testing.assert_array_equal(ours, theirs, err_msg=path)
    elif isinstance(ours, str):
        assert ours.encode() == theirs, path
    else:
        assert ours == theirs, path


@pytest.mark.parametrize("cudnn,type_name,flat", [(False, "Float", False),
                                                  (True, "Cuda", True)])
def test_the_reader_agrees_with_torchfile(cudnn, type_name, flat, tmp_path):
    sizes = config_lib.TINY
    path = tmp_path / "net.t7"
    w.save(path, torch_nets.generator_tree(sizes, torch_nets.generator_weights(sizes),
                                           cudnn=cudnn, type_name=type_name, flat=flat))
    ours = t7.read_t7(str(path))
    _same(ours, _torchfile(path))
    conv = ours.fields["modules"][1].fields["modules"][1].fields["modules"][2]
    assert conv.class_name == ("cudnn." if cudnn else "nn.") + "VolumetricFullConvolution"


def test_views_with_offsets_and_strides_and_shared_objects():
    storage = w.Storage(np.arange(20, dtype=np.float32))
    transposed = w.Tensor(storage, (3, 4), stride=(1, 5), offset=2)  # a transposed view
    shared = {"a": 1}
    data = w.dumps({"t": transposed, "u": w.Tensor(storage, (2,), offset=18),
                    "x": shared, "y": shared, "s": "text", "b": False, "f": 0.25})
    out = t7.parse_t7(data)
    np.testing.assert_array_equal(out["t"], 2 + np.arange(3)[:, None] + 5 * np.arange(4))
    np.testing.assert_array_equal(out["u"], [18, 19])
    assert out["x"] is out["y"] and out["s"] == "text" and out["b"] is False
    assert out["f"] == 0.25


def test_a_view_past_its_storage_is_refused():
    storage = w.Storage(np.arange(6, dtype=np.float32))
    data = w.dumps(w.Tensor(storage, (2, 3), offset=1))
    with pytest.raises(t7.T7FormatError, match="reaches past its storage of 6"):
        t7.parse_t7(data)


def test_truncated_and_unknown_data_are_refused(tiny_generator):
    path, _ = tiny_generator
    data = path.read_bytes()
    with pytest.raises(t7.T7FormatError, match="end of the file|end of file"):
        t7.parse_t7(data[:len(data) // 2], name="half.t7")
    with pytest.raises(t7.T7FormatError, match="unknown type tag 9"):
        t7.parse_t7(struct.pack("<i", 9))


def test_lua_functions_are_never_loaded():
    code = b"\x1bLJ fake bytecode"
    data = (struct.pack("<ii", 8, 1) + struct.pack("<i", len(code)) + code
            + struct.pack("<i", 0))
    with pytest.raises(t7.T7FormatError, match="Lua function"):
        t7.parse_t7(data)


def test_a_class_with_a_binary_form_of_its_own_is_refused():
    data = w.dumps(w.Storage(np.zeros(2, np.float32)))
    data = data.replace(b"torch.FloatStorage", b"torch.HalfxStorage")
    with pytest.raises(t7.T7FormatError, match="torch.HalfxStorage"):
        t7.parse_t7(data)


def _peak(call):
    """(result or the T7FormatError raised, bytes allocated at most meanwhile)."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except t7.T7FormatError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_view_with_stride_zero_is_refused_without_allocating():
    """The 113-byte file that once made the reader allocate 1 GiB."""
    data = w.dumps(w.Tensor(w.Storage(np.zeros(1, np.float32)), (1 << 28,), stride=(0,)))
    assert len(data) == 113
    error, peak = _peak(lambda: t7.parse_t7(data, name="view.t7"))
    assert isinstance(error, t7.T7FormatError) and peak < 1 << 16
    assert str(error).startswith("view.t7: a torch.FloatTensor of size [268435456]")
    assert "copied out of a file of 113 bytes" in str(error)


def test_views_that_repeat_elements_are_copied_within_the_budget():
    storage = w.Storage(np.arange(4, dtype=np.float32))
    out = t7.parse_t7(w.dumps({"rows": w.Tensor(storage, (3, 4), stride=(0, 1)),
                               "one": w.Tensor(storage, (1, 2), stride=(1 << 62, 1))}))
    np.testing.assert_array_equal(out["rows"], np.broadcast_to(np.arange(4), (3, 4)))
    np.testing.assert_array_equal(out["one"], [[0, 1]])  # a stride over a size of 1 is unused
    many = [w.Tensor(storage, (1 << 12,), stride=(0,)) for _ in range(100)]  # 1.6 MB in all
    with pytest.raises(t7.T7FormatError, match="with the tensors before it, more than"):
        t7.parse_t7(w.dumps(many))
    assert t7.copy_budget(1000) == 2 * 1000 + 65536


def test_sizes_that_numpy_cannot_hold_are_refused():
    one = w.Storage(np.zeros(1, np.float32))
    for tensor in (w.Tensor(one, (0, 1 << 62, 1 << 62), stride=(1, 1, 1)),
                   w.Tensor(one, (2, 1 << 62), stride=(0, 0))):
        with pytest.raises(t7.T7FormatError, match="far larger than the file|copied out"):
            t7.parse_t7(w.dumps(tensor))


@pytest.mark.parametrize("version", ["V inf", "V -inf", "V nan", "V 1e400", "V 4294967296",
                                     "V x"])
def test_class_versions_that_are_not_finite_numbers_are_refused(version):
    data = w.dumps(w.Module("nn.ReLU", {})).replace(b"\x03\x00\x00\x00V 1",
                                                    struct.pack("<i", len(version))
                                                    + version.encode())
    with pytest.raises(t7.T7FormatError, match="a bad class version"):
        t7.parse_t7(data, name="v.t7")
    assert t7.parse_t7(w.dumps(w.Module("nn.ReLU", {}, version=2))).version == 2


def test_class_names_must_be_short_printable_names():
    for name in ("", "nn.Re\nLU", "nn." + "x" * 300, "nn.R\x00LU"):
        with pytest.raises(t7.T7FormatError, match="not a short printable name") as error:
            t7.parse_t7(w.dumps(w.Module(name, {})))
        assert "\n" not in str(error.value) and len(str(error.value)) < 200


def test_references_must_name_an_object_of_their_kind():
    storage = w.Storage(np.zeros(2, np.float32))
    data = bytearray(w.dumps({"s": storage, "t": {"a": 1}}))
    # the inner table's reference index (3) made to name the storage (2): a table tag
    # that points at a Torch object, as a mutant whose fields point back at itself does
    at = data.index(b"\x02\x00\x00\x00\x01\x00\x00\x00t") + 9 + 4
    assert struct.unpack_from("<i", data, at)[0] == 3
    struct.pack_into("<i", data, at, 2)
    with pytest.raises(t7.T7FormatError, match="a reference to a table .* names a Torch"):
        t7.parse_t7(bytes(data))
    module = bytearray(w.dumps(w.Module("nn.ReLU", {})))
    struct.pack_into("<i", module, len(module) - 8, 1)  # its fields: a reference to itself
    with pytest.raises(t7.T7FormatError, match="names a Torch object"):
        t7.parse_t7(bytes(module))


def test_a_count_larger_than_the_file_is_refused_at_once():
    data = struct.pack("<iii", t7.TYPE_TABLE, 1, 2 ** 31 - 1)
    with pytest.raises(t7.T7FormatError, match="a table of 2147483647 entries in the 0 bytes"):
        t7.parse_t7(data)
