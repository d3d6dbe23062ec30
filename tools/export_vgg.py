#!/usr/bin/python3
"""Writes a torchvision VGG as an HDF5 weights file in unioncam's torchvision layout (one dataset
per state_dict key), and optionally the same weights in the Keras layout.

  export_vgg.py --arch vgg16 --seed 1 --width-div 16 --classes 5 out.h5
  export_vgg.py --arch vgg16 --state-dict vgg16.pth out.h5
  export_vgg.py --from-h5 in.h5 --dtype float64 out.h5     (same weights, another dtype)

With --keras, features.0 is divided by 255 and the torchvision file gets Caffe's mean/std
((123.68, 116.779, 103.939)/255, 1/255): then torch(normalize(I)) == keras(caffe_preprocess(I)),
both files describe the same function, and activations keep the scale of the random init.
"""
import argparse

import torch

import vgg_common as vc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--arch", default="vgg16", help="vgg11|vgg13|vgg16|vgg19, optionally _bn")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seed", type=int, default=0, help="random init seed (default 0)")
    src.add_argument("--state-dict", help="a .pth state_dict to export instead of a random init")
    src.add_argument("--from-h5", help="re-write a torchvision-layout file (e.g. in another dtype)")
    p.add_argument("--width-div", type=int, default=1, help="divide every conv width and the hidden width")
    p.add_argument("--widths", help="explicit per-block conv widths, e.g. 8,16,32,64,64")
    p.add_argument("--hidden", type=int, help="classifier hidden width (default 4096/width-div)")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--input-size", type=int, help="stored as the input_size attribute")
    p.add_argument("--class-names", help="text file, one class name per line")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "float64"])
    p.add_argument("--keras", metavar="OUT.h5", help="also write the Keras layout (vgg16/vgg19)")
    p.add_argument("--keras-vlen", action="store_true", help="variable-length Keras name strings")
    p.add_argument("--preprocess", choices=["torchvision", "antialias", "keras", "plain"],
                   help="how unioncam should prepare images for this model, stored as the "
                        "preprocess attribute (default: torchvision, keras with --keras, "
                        "the source's with --from-h5)")
    a = p.parse_args()

    if a.from_h5:
        state, attrs = vc.read_torchvision_h5(a.from_h5)
        vc.write_torchvision_h5(a.out, state, str(attrs["arch"]), a.dtype, attrs.get("mean"),
                                attrs.get("std"), attrs.get("input_size"), attrs.get("class_names"),
                                a.preprocess or attrs.get("preprocess"))
        print(f"{a.out}: {attrs['arch']} from {a.from_h5}, {vc.parameter_count(state)} parameters")
        return

    widths = [int(w) for w in a.widths.split(",")] if a.widths else vc.block_widths(a.arch, a.width_div)
    hidden = a.hidden or max(1, 4096 // a.width_div)
    model = vc.build_model(a.arch, widths, hidden, a.classes, None if a.state_dict else a.seed)
    if a.state_dict:
        model.load_state_dict(torch.load(a.state_dict, map_location="cpu"), strict=True)
    state = model.state_dict()
    mean = std = None
    if a.keras:
        with torch.no_grad():
            state["features.0.weight"].div_(255)
        mean, std = vc.CAFFE_MEAN_RGB, vc.CAFFE_STD
        vc.write_keras_h5(a.keras, a.arch, state, a.keras_vlen)
    names = None
    if a.class_names:
        with open(a.class_names) as f:
            names = [line.strip() for line in f if line.strip()]
    preprocess = a.preprocess or ("keras" if a.keras else "torchvision")
    vc.write_torchvision_h5(a.out, state, a.arch, a.dtype, mean, std, a.input_size, names, preprocess)
    print(f"{a.out}: {a.arch} widths {widths} hidden {hidden} classes {a.classes}, "
          f"{vc.parameter_count(state)} parameters" + (f"; Keras copy {a.keras}" if a.keras else ""))


if __name__ == "__main__":
    main()
