"""`import unioncam` against the command line and METHODS.md (run by ctest `python`; PYTHONPATH
names the build's module, UNIONCAM_BIN the binary)."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

import unioncam

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
import dump_check  # noqa: E402  (numpy recomputation of every map from a dump)

WEIGHTS = os.path.join(SRC, "models", "fashion_vgg16bn.h5")
IMAGE = os.path.join(SRC, "tests", "fixtures", "demo", "images", "00001_4.png")
BIN = os.environ.get("UNIONCAM_BIN", os.path.join(SRC, "build", "unioncam"))


@pytest.fixture(scope="module")
def model():
    return unioncam.Model(WEIGHTS, device="cpu")


def test_maps_equal_the_command_lines_npy_bit_for_bit(model, tmp_path):
    subprocess.run([BIN, "explain", "--weights", WEIGHTS, "--device", "cpu", "--quiet", "--method",
                    "all", "--save-map", "--out", str(tmp_path), IMAGE], check=True,
                   stdout=subprocess.DEVNULL)
    maps = model.explain(IMAGE, methods=unioncam.methods())
    assert sorted(maps) == sorted(unioncam.methods())
    for method, m in maps.items():
        cli = np.load(tmp_path / f"00001_4_{method}.npy")
        assert m.dtype == np.float32 and m.shape == cli.shape == model.input_size
        assert np.array_equal(m, cli), method
    # An H x W x 3 uint8 array is the same image as its file.
    pixels = np.asarray(Image.open(IMAGE).convert("RGB"))
    assert np.array_equal(model.explain(pixels, methods=["gradcam"])["gradcam"], maps["gradcam"])


class DumpGroup:
    """A dump dict seen as dump_check sees an HDF5 group: arrays by name, sub-groups, attrs."""

    def __init__(self, d, prefix=""):
        self.d, self.prefix = d, prefix
        self.attrs = {k[len(prefix):]: v for k, v in d.items()
                      if k.startswith(prefix) and "/" not in k[len(prefix):]
                      and not isinstance(v, np.ndarray)}

    def __contains__(self, name):
        key = self.prefix + name
        return key in self.d or any(k.startswith(key + "/") for k in self.d)

    def __getitem__(self, name):
        key = self.prefix + name
        return self.d[key] if key in self.d else DumpGroup(self.d, key + "/")


def test_a_dump_recomputes_every_map_with_numpy(model):
    options = dict(theta=25.0, groups=16)
    maps, dump = model.explain(IMAGE, methods=unioncam.methods(), dump=True, dump_masks=True,
                               **options)
    root = {"theta": 25.0, "groups": 16, "region": "scorecam"}
    done = dump_check.check_image(DumpGroup(dump), root, masks=True)
    assert done == ["gradcam", "gradcampp", "scorecam", "groupcam", "unioncam"]
    for method, m in maps.items():
        assert np.array_equal(dump[f"{method}/map"], m)
    assert dump["unioncam/selected"] in ("fused", "region")
    assert dump["scorecam/channels"].dtype == np.int32


def test_predict_and_evaluate(model):
    top = model.predict(IMAGE, topk=3)
    assert [t["class"] for t in top][0] == 4 and top[0]["name"] == "Coat"
    assert top[0]["prob"] >= top[1]["prob"] >= top[2]["prob"]
    m = model.explain(IMAGE)["unioncam"]
    r = model.evaluate(IMAGE, m)
    h = model.input_size[0]
    assert len(r["insertion_curve"]) == len(r["deletion_curve"]) == (h + 1) // 2 + 1
    assert 0 <= r["drop"] <= 100 and 0 <= r["deletion"] <= 100
    assert r["y"] == pytest.approx(top[0]["prob"], rel=1e-5)


def test_errors_carry_the_command_lines_messages(tmp_path):
    missing = str(tmp_path / "missing.h5")
    with pytest.raises(unioncam.Error) as e:
        unioncam.Model(missing)
    assert e.value.kind == "bad_input" and e.value.exit_code == 3
    cli = subprocess.run([BIN, "info", "--weights", missing], capture_output=True, text=True)
    assert cli.returncode == 3
    assert cli.stderr.strip() == "unioncam: error: " + str(e.value)
    model = unioncam.Model(WEIGHTS, device="cpu")
    with pytest.raises(unioncam.Error) as e:
        model.explain(IMAGE, theta=120.0)
    assert e.value.kind == "usage"
    with pytest.raises(unioncam.Error, match="unknown option 'tehta'"):
        model.explain(IMAGE, tehta=1.0)
    with pytest.raises(unioncam.Error, match="H x W x 3 uint8"):
        model.predict(np.zeros((4, 4), np.uint8))
    with pytest.raises(unioncam.Error):
        unioncam.Model(WEIGHTS, device="tpu")


def test_the_gil_is_released_while_it_computes(model):
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    start = len(ticks)
    model.explain(IMAGE, methods=["scorecam"])  # hundreds of forwards: well over 0.1 s
    during = len(ticks) - start
    stop.set()
    t.join()
    assert during > 20, f"the other thread ran {during} times while explain() ran"
