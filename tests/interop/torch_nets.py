"""main.lua's generator and discriminator as Torch7 module trees, with random weights.

`generator_weights` / `discriminator_weights` draw weights in Torch's layouts (keyed by
the role of each module: fg_up0, fg_bn0, ..., mask_out, bg_out, d_conv0, d_bn1, d_logit);
`generator_tree` / `discriminator_tree` build the module tree main.lua builds (same
classes, order and fields) holding those weights, as torch.save leaves it after :cuda(),
cudnn.convert, getParameters() and clearState():

- `cudnn=True`: the classes cudnn.convert renames get `cudnn.` names (LeakyReLU, View,
  the table modules and L1Penalty stay `nn.`);
- `type_name="Cuda"`: every tensor is a torch.CudaTensor (storages torch.CudaStorage);
- `flat=True`: every weight and bias is a view into one flat storage and every
  gradWeight and gradBias into a second one, in the order of net:parameters();
- BN modules have train=true, non-trivial running statistics, and save_mean/save_std
  cleared; VolumetricFullConvolution keeps non-empty column buffers (finput, fgradInput).
"""
from __future__ import annotations

import numpy as np

from tests.interop import t7_writer as w

CUDNN_CLASSES = {"ReLU", "Tanh", "Sigmoid", "SpatialFullConvolution",
                 "SpatialBatchNormalization", "VolumetricBatchNormalization",
                 "VolumetricConvolution", "VolumetricFullConvolution"}


def _conv(rng, shape, cout, fan_in):
    return {"weight": rng.standard_normal(shape, np.float32) / np.float32(np.sqrt(fan_in)),
            "bias": rng.normal(0, 0.1, (cout,)).astype(np.float32)}


def _bn(rng, width):
    return {"weight": rng.normal(1, 0.2, (width,)).astype(np.float32),
            "bias": rng.normal(0, 0.2, (width,)).astype(np.float32),
            "running_mean": rng.normal(0, 0.3, (width,)).astype(np.float32),
            "running_var": rng.uniform(0.3, 2.0, (width,)).astype(np.float32)}


def generator_weights(sizes, seed=0) -> dict:
    """{role: {"weight", "bias", (BN:) "running_mean", "running_var"}}, Torch layouts."""
    rng = np.random.default_rng(seed)
    lay = sizes.layout
    out = {}
    for prefix, rank in (("fg", 3), ("bg", 2)):
        cin = sizes.latent_dim
        for i, width in enumerate(lay.widths):
            kernel = ((lay.seed_frames,) if rank == 3 else ()) + (4, 4) if i == 0 else (4,) * rank
            spread = 1 if i == 0 else 2 ** rank  # inputs reaching one output
            out[f"{prefix}_up{i}"] = _conv(rng, (cin, width) + kernel, width, cin * spread)
            out[f"{prefix}_bn{i}"] = _bn(rng, width)
            cin = width
    last = lay.widths[-1]
    out["fg_out"] = _conv(rng, (last, 3, 4, 4, 4), 3, last * 8)
    out["mask_out"] = _conv(rng, (last, 1, 4, 4, 4), 1, last * 8)
    out["bg_out"] = _conv(rng, (last, 3, 4, 4), 3, last * 4)
    return out


def discriminator_weights(layout, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    out, cin = {}, 3
    for i, width in enumerate(layout.widths[::-1]):
        out[f"d_conv{i}"] = _conv(rng, (width, cin, 4, 4, 4), width, cin * 64)
        if i:
            out[f"d_bn{i}"] = _bn(rng, width)
        cin = width
    out["d_logit"] = _conv(rng, (2, cin, layout.seed_frames, 4, 4), 2,
                           cin * layout.seed_frames * 16)
    return out


class _Builder:
    def __init__(self, cudnn, type_name):
        self.cudnn = cudnn
        self.type_name = type_name
        self.params = []  # modules with weight/bias, in net:parameters() order
        self.rng = np.random.default_rng(99)

    def module(self, kind, version=1, **fields):
        prefix = "cudnn" if self.cudnn and kind in CUDNN_CLASSES else "nn"
        base = {"output": w.empty(self.type_name), "gradInput": w.empty(self.type_name),
                "train": True, "_type": f"torch.{self.type_name}Tensor"}
        base.update(fields)
        return w.Module(f"{prefix}.{kind}", base, version)

    def container(self, kind, modules):
        fields = {"modules": list(modules)}
        if kind == "ConcatTable":
            fields.update(output={}, gradInput={})
        return self.module(kind, **fields)

    def buffer(self, array):
        return w.tensor(np.asarray(array, np.float32), self.type_name)

    def with_params(self, module, weights):
        module.fields["_weights"] = weights
        self.params.append(module)
        return module

    def conv(self, kind, weights, stride, pad, old_format=False):
        weight = weights["weight"]
        rank = weight.ndim - 2
        full = "Full" in kind
        cin, cout = (weight.shape[0], weight.shape[1]) if full else (weight.shape[1],
                                                                      weight.shape[0])
        fields = {"nInputPlane": cin, "nOutputPlane": cout}
        for axis, k in zip("THW"[-rank:], weight.shape[2:]):
            fields.update({f"k{axis}": k, f"d{axis}": stride})
            if old_format:
                fields[f"p{axis}"] = pad
            else:
                fields[f"pad{axis}"] = pad
                if full:
                    fields[f"adj{axis}"] = 0
        if kind == "VolumetricFullConvolution":  # column buffers kept by clearState
            fields.update(finput=self.buffer(self.rng.normal(size=(4, 6))),
                          fgradInput=self.buffer(self.rng.normal(size=(3, 5))))
        if old_format:  # nn before adj fields stored the full conv's weight [out, in, ...]
            weights = dict(weights, weight=np.ascontiguousarray(np.swapaxes(weight, 0, 1)))
        return self.with_params(self.module(kind, **fields), weights)

    def bn(self, kind, weights, eps, running_std=False):
        fields = {"eps": eps, "momentum": 0.1, "affine": True, "nDim": 5,
                  "running_mean": self.buffer(weights["running_mean"]),
                  "save_mean": w.empty(self.type_name), "save_std": w.empty(self.type_name)}
        if running_std:  # BN class version 1 kept 1 / sqrt(var + eps)
            fields["running_std"] = self.buffer(
                1.0 / np.sqrt(weights["running_var"].astype(np.float64) + eps))
        else:
            fields["running_var"] = self.buffer(weights["running_var"])
        if self.cudnn:
            fields.update(mode="CUDNN_BATCHNORM_SPATIAL", nFeature=len(weights["weight"]))
        return self.with_params(self.module(kind, 1 if running_std else 2, **fields),
                                weights)

    def attach(self, flat):
        """weight/bias (and their gradients) of every parameter module, as Torch holds
        them: views into one flat storage each (flat) or tensors of their own."""
        arrays = []
        for module in self.params:
            weights = module.fields.pop("_weights")
            arrays += [("weight", module, weights["weight"]), ("bias", module, weights["bias"])]
        total = sum(a.size for _, _, a in arrays)
        if flat:
            values = np.concatenate([a.reshape(-1) for _, _, a in arrays])
            storage = w.Storage(values, self.type_name)
            grads = w.Storage(self.rng.standard_normal(total, np.float32), self.type_name)
        offset = 0
        for name, module, array in arrays:
            grad_name = "grad" + name[0].upper() + name[1:]
            if flat:
                module.fields[name] = w.Tensor(storage, array.shape, offset=offset,
                                               type_name=self.type_name)
                module.fields[grad_name] = w.Tensor(grads, array.shape, offset=offset,
                                                    type_name=self.type_name)
            else:
                module.fields[name] = w.tensor(array, self.type_name)
                module.fields[grad_name] = w.tensor(
                    self.rng.normal(size=array.shape), self.type_name)
            offset += array.size
        return total


def generator_tree(sizes, weights, cudnn=False, type_name="Float", flat=True,
                   running_std=False, old_full_conv=False):
    """main.lua's `net` (the two-stream generator) holding `weights`."""
    b = _Builder(cudnn, type_name)
    lay = sizes.layout

    def stream(prefix, rank):
        full = "VolumetricFullConvolution" if rank == 3 else "SpatialFullConvolution"
        norm = "VolumetricBatchNormalization" if rank == 3 else "SpatialBatchNormalization"
        shape = [-1, sizes.latent_dim] + [1] * rank
        layers = [b.module("View", size=w.long_storage(shape), numElements=sizes.latent_dim)]
        for i in range(len(lay.widths)):
            layers.append(b.conv(full, weights[f"{prefix}_up{i}"], 1 if i == 0 else 2,
                                 0 if i == 0 else 1, old_full_conv and rank == 3))
            layers.append(b.bn(norm, weights[f"{prefix}_bn{i}"], 1e-5,
                               running_std and rank == 2))
            layers.append(b.module("ReLU", inplace=True, threshold=0, val=0))
        return layers, full

    video, full = stream("fg", 3)
    gen_net = b.container("Sequential", [
        b.conv(full, weights["fg_out"], 2, 1, old_full_conv), b.module("Tanh")])
    mask_net = b.container("Sequential", [
        b.conv(full, weights["mask_out"], 2, 1, old_full_conv), b.module("Sigmoid"),
        b.module("L1Penalty", l1weight=0.1, sizeAverage=True, provideOutput=True)])
    video.append(b.container("ConcatTable", [gen_net, mask_net]))
    static, full = stream("bg", 2)
    static += [b.conv(full, weights["bg_out"], 2, 1), b.module("Tanh")]
    b.attach(flat)

    def select(index):
        return b.module("SelectTable", index=index)

    def mask_rgb(*middle):
        return b.container("Sequential", [select(2), b.module("Squeeze"), *middle,
                                          b.module("Replicate", nfeatures=3, dim=2)])

    motion = b.container("Sequential", [
        b.container("ConcatTable", [select(1), mask_rgb()]), b.module("CMulTable")])
    static_part = b.container("Sequential", [
        b.container("ConcatTable", [
            b.container("Sequential", [select(3), b.module("Replicate",
                                                            nfeatures=sizes.frames, dim=3)]),
            mask_rgb(b.module("MulConstant", constant_scalar=-1, inplace=False),
                     b.module("AddConstant", constant_scalar=1, inplace=False))]),
        b.module("CMulTable")])
    return b.container("Sequential", [
        b.container("ConcatTable", [b.container("Sequential", video),
                                    b.container("Sequential", static)]),
        b.module("FlattenTable", input_map={}),
        b.container("ConcatTable", [motion, static_part]),
        b.module("CAddTable", inplace=False)])


def discriminator_tree(layout, weights, cudnn=False, type_name="Float", flat=True):
    """main.lua's `netD` holding `weights`."""
    b = _Builder(cudnn, type_name)
    layers = []
    for i in range(len(layout.widths)):
        layers.append(b.conv("VolumetricConvolution", weights[f"d_conv{i}"], 2, 1))
        if i:
            layers.append(b.bn("VolumetricBatchNormalization", weights[f"d_bn{i}"], 1e-3))
        layers.append(b.module("LeakyReLU", negval=0.2, inplace=True))
    layers.append(b.conv("VolumetricConvolution", weights["d_logit"], 1, 0))
    layers.append(b.module("View", size=w.long_storage([2]), numElements=2, numInputDims=4))
    b.attach(flat)
    return b.container("Sequential", layers)
