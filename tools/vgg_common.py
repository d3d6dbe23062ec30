"""Shared by export_vgg.py and make_reference.py: build torchvision VGGs (any widths, hidden size
and class count), and read/write the two HDF5 weight layouts that unioncam loads.

PyTorch is a dependency of these tools only; the C++ runtime never needs it.
"""
import os
import re

import h5py
import numpy as np
import torch
from torch import nn
from torchvision.models.vgg import VGG, cfgs, make_layers

CONFIGS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}
CAFFE_MEAN_RGB = (123.68 / 255, 116.779 / 255, 103.939 / 255)
CAFFE_STD = (1 / 255, 1 / 255, 1 / 255)


def split_arch(arch):
    base = arch[:-3] if arch.endswith("_bn") else arch
    if base not in CONFIGS:
        raise SystemExit(f"unknown arch {arch!r}; expected one of "
                         + ", ".join(f"{a}, {a}_bn" for a in CONFIGS))
    return base, arch.endswith("_bn")


def block_widths(arch, width_div=1):
    """The five per-block conv widths of torchvision's config, divided by width_div."""
    base, _ = split_arch(arch)
    cfg = cfgs[CONFIGS[base]]
    return [max(1, cfg[i - 1] // width_div) for i, v in enumerate(cfg) if v == "M"]


def build_model(arch, widths, hidden, classes, seed=None):
    """A torchvision VGG with per-block conv `widths`, classifier `hidden` width and `classes`.

    With a seed: torchvision's initialisation of the convolutions; Linear weights with std
    sqrt(2/in) instead of torchvision's 0.01, so logits of narrow random models depend visibly on
    the input; biases small and non-zero (so tests notice a misplaced bias); for BatchNorm, random affine and running statistics
    (so BN is not the identity in eval mode).
    """
    base, bn = split_arch(arch)
    block, cfg = 0, []
    for v in cfgs[CONFIGS[base]]:
        if v == "M":
            block += 1
            cfg.append("M")
        else:
            cfg.append(widths[block])
    if seed is not None:
        torch.manual_seed(seed)
    model = VGG(make_layers(cfg, batch_norm=bn), num_classes=classes, init_weights=True)
    # torchvision fixes the classifier at 512*7*7 -> 4096 -> 4096; rebuild it with our widths.
    model.classifier = nn.Sequential(
        nn.Linear(widths[-1] * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, classes))
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, (2 / m.in_features) ** 0.5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.uniform_(-0.05, 0.05)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def model_from_state_dict(state, arch):
    """Rebuilds the model a torchvision-layout state_dict belongs to (widths read from shapes)."""
    convs = sorted((int(m.group(1)), v) for k, v in state.items()
                   if (m := re.fullmatch(r"features\.(\d+)\.weight", k)) and v.dim() == 4)
    base, _ = split_arch(arch)
    per_block, n = [], 0
    for v in cfgs[CONFIGS[base]]:
        if v == "M":
            per_block.append(convs[n - 1][1].shape[0])
        else:
            n += 1
    model = build_model(arch, per_block, state["classifier.0.weight"].shape[0],
                        state["classifier.6.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    return model.eval()


def parameter_count(state):
    """Learnable parameters: what unioncam's ModelWeights::parameter_count reports."""
    return sum(v.numel() for k, v in state.items()
               if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))


def atomic_h5(path):
    """Opens `path + '.tmp'` for writing; call finish_h5 to move it into place."""
    return h5py.File(path + ".tmp", "w")


def finish_h5(f, path):
    f.close()
    os.replace(path + ".tmp", path)


def write_torchvision_h5(path, state, arch, dtype="float32", mean=None, std=None,
                         input_size=None, class_names=None, preprocess=None):
    f = atomic_h5(path)
    for k, v in state.items():
        a = v.detach().cpu().numpy()
        f.create_dataset(k, data=a if k.endswith("num_batches_tracked") else a.astype(dtype))
    f.attrs["arch"] = arch
    if mean is not None:
        f.attrs["mean"] = np.asarray(mean, dtype=np.float64)
        f.attrs["std"] = np.asarray(std, dtype=np.float64)
    if input_size is not None:
        f.attrs["input_size"] = np.int64(input_size)
    if class_names is not None:
        f.attrs["class_names"] = list(class_names)  # h5py stores a list of str as vlen strings
    if preprocess is not None:
        f.attrs["preprocess"] = preprocess  # how unioncam prepares images: io/preprocess.h
    finish_h5(f, path)


def read_torchvision_h5(path):
    """(state_dict of float tensors, root attributes) of a torchvision-layout file."""
    with h5py.File(path, "r") as f:
        state = {k: torch.from_numpy(np.asarray(v[()], dtype=np.float32 if v.dtype.kind == "f"
                                                else v.dtype)) for k, v in f.items()}
        attrs = {k: v for k, v in f.attrs.items()}
    return state, attrs


def keras_layers(arch, state):
    """(Keras layer name, [(weight name, array)]) in Keras VGG order, converted from torchvision:
    HWIO kernels, features.0 input channels reversed (Caffe BGR), [in, out] dense kernels with
    fc1's rows in NHWC flatten order."""
    base, bn = split_arch(arch)
    if base not in ("vgg16", "vgg19") or bn:
        raise SystemExit("--keras needs vgg16 or vgg19 without BatchNorm (Keras ships only those)")
    layers, index, block, conv = [("input_1", [])], 0, 1, 1
    for v in cfgs[CONFIGS[base]]:
        if v == "M":
            layers.append((f"block{block}_pool", []))
            block, conv, index = block + 1, 1, index + 1
            continue
        w = state[f"features.{index}.weight"]
        if index == 0:
            w = w.flip(1)
        name = f"block{block}_conv{conv}"
        layers.append((name, [(f"{name}/kernel:0", w.permute(2, 3, 1, 0)),
                              (f"{name}/bias:0", state[f"features.{index}.bias"])]))
        conv, index = conv + 1, index + 2
    layers.append(("flatten", []))
    w0 = state["classifier.0.weight"]
    channels = state[f"features.{index - 3}.weight"].shape[0]
    side = int(round((w0.shape[1] // channels) ** 0.5))
    fc1 = w0.reshape(w0.shape[0], channels, side, side).permute(2, 3, 1, 0).reshape(-1, w0.shape[0])
    for name, i, kernel in (("fc1", 0, fc1), ("fc2", 3, None), ("predictions", 6, None)):
        k = kernel if kernel is not None else state[f"classifier.{i}.weight"].t()
        layers.append((name, [(f"{name}/kernel:0", k), (f"{name}/bias:0",
                                                        state[f"classifier.{i}.bias"])]))
    return layers


def write_keras_h5(path, arch, state, variable_length=False):
    """The layout of Keras' vgg16_weights_tf_dim_ordering_tf_kernels.h5 (save_weights)."""
    def names(values):
        if not values:
            return np.array([])  # what Keras writes for a layer without weights
        if variable_length:
            return np.array(values, dtype=h5py.string_dtype("utf-8"))
        return np.array([v.encode() for v in values])  # fixed-length byte strings

    layers = keras_layers(arch, state)
    f = atomic_h5(path)
    f.attrs["layer_names"] = names([n for n, _ in layers])
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.2.4"
    for name, weights in layers:
        g = f.create_group(name)
        g.attrs["weight_names"] = names([w for w, _ in weights])
        for wname, a in weights:
            g.create_dataset(wname, data=a.detach().contiguous().numpy().astype(np.float32))
    finish_h5(f, path)
