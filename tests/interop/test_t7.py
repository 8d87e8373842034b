"""The Torch7 binary format: the test writer checked by torchfile, and vgan_tf's reader
checked against torchfile and against malformed files."""
from __future__ import annotations

import struct

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
