#!/usr/bin/python3
"""Accuracy of unioncam (predict --json) and of PyTorch on the same weights file, on the first N test images.

  check_demo_model.py models/fashion_vgg16bn.h5 DATA_DIR 200 [build/unioncam]    (run from the repository root)
"""
import sys, csv, os
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
sys.path.insert(0, 'tools'); import vgg_common as vc, model_accuracy
torch.set_num_threads(1)
W, D, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
BIN = sys.argv[4] if len(sys.argv) > 4 else 'build/unioncam'
rows = list(csv.DictReader(open(os.path.join(D, 'test', 'labels.csv'))))[:N]
paths = [os.path.join(D, 'test', 'images', r['file']) for r in rows]
y = np.array([int(r['class']) for r in rows])
rtl = model_accuracy.scores(BIN, W, paths)[1]
rt = rtl.argmax(1)
state, attrs = vc.read_torchvision_h5(W)
m = vc.model_from_state_dict(state, 'vgg16_bn')
s = int(attrs['input_size']); mean = torch.tensor(attrs.get('mean',[0.485,0.456,0.406])).float().view(1,3,1,1); std = torch.tensor(attrs.get('std',[0.229,0.224,0.225])).float().view(1,3,1,1)
x = torch.from_numpy(np.stack([np.asarray(Image.open(p).convert('RGB')) for p in paths])).permute(0,3,1,2).float()/255
x = F.interpolate(x, size=(s, s), mode='bilinear', align_corners=False)
with torch.no_grad(): lg = m((x-mean)/std)
pt = lg.argmax(1).numpy()
print(f"runtime accuracy {np.mean(rt==y):.4f} on {N} test images; pytorch (same h5, same resize) {np.mean(pt==y):.4f}; "
      f"top-1 agreement {np.mean(rt==pt):.4f}; max |logit diff| {np.abs(lg.numpy()-rtl).max():.2e}")
names = [n.decode() if isinstance(n, bytes) else str(n) for n in attrs.get('class_names', [])] or [str(c) for c in range(lg.shape[1])]
print("runtime per class: " + ", ".join(f"{names[c]} {100 * np.mean(rt[y == c] == c):.0f} %"
                                        for c in sorted(set(y.tolist()), key=lambda c: -np.mean(rt[y == c] == c))))
