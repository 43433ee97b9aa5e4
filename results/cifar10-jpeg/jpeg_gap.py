"""How much of the offline CIFAR-10 copy's test gap is JPEG, and which model loses more to it.

    python results/cifar10-jpeg/jpeg_gap.py [--data-root ../shared/datasets/cifar-10-offline]

The offline copy's test set is 1,000 exact images plus 9,000 decoded from JPEG (quality 75), and
the shipped CIFAR-10 models score several points lower on the whole set than on the exact 1,000.
The 9,000 are other images, so that gap mixes JPEG with image difficulty. This script separates
the two: it takes the 1,000 exact images (``test_is_exact.npy``), round-trips each through JPEG
at several qualities with Pillow, and tests every shipped CIFAR-10 entry on the same images before
and after. Writes ``jpeg_gap.json`` / ``.md`` here, with the machine and torch version.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import kanvision
from kanvision.data import ImageDataModule
from kanvision.models.pretrained import list_pretrained
from kanvision.training.export import machine_description

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUALITIES = (95, 75, 50)  # 75: the copy's own quality


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in zip(images.split(250), labels.split(250)))
    return 100 * hits / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared/datasets/cifar-10-offline"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = ImageDataModule(name="cifar10", root=args.data_root, verify_integrity=False)
    data.setup("test")
    if data.exact_mask is None:
        raise SystemExit(f"no test_is_exact.npy in {args.data_root}: this needs the offline copy")
    raw = data.raw_split(False)  # the datamodule's own test split, as PIL images
    to_tensor = data.transform(False)
    exact = np.flatnonzero(data.exact_mask)
    pil = [raw[i][0] for i in exact]
    labels = torch.tensor([raw[i][1] for i in exact])
    versions = {"exact": pil} | {f"JPEG q{q}": [jpeg_round_trip(im, q) for im in pil] for q in QUALITIES}
    diffs = {name: float(np.mean([np.abs(np.asarray(a, float) - np.asarray(b, float)).mean() for a, b in zip(pil, ims)]))
             for name, ims in versions.items()}
    tensors = {name: torch.stack([to_tensor(im) for im in ims]) for name, ims in versions.items()}
    entries = list_pretrained(dataset="cifar10")
    rows = {}
    for entry in entries:
        model = kanvision.create_model(entry, pretrained=True).eval().float()
        rows[entry] = {name: accuracy(model, x, labels) for name, x in tensors.items()}
    record = {
        "images": len(labels), "mean_abs_pixel_change": diffs, "accuracy": rows,
        "torch": torch.__version__, "machine": machine_description(),
        "command": "python results/cifar10-jpeg/jpeg_gap.py",
    }
    (HERE / "jpeg_gap.json").write_text(json.dumps(record, indent=2) + "\n")
    names = list(versions)
    lines = [
        (f"The offline copy's {len(labels):,} exact test images, and the same images round-tripped through "
         f"JPEG (Pillow); {record['machine']}, torch {torch.__version__}; `{record['command']}`."),
        "",
        "| weights | " + " | ".join(f"{n} (mean pixel change {diffs[n]:.1f}/255)" for n in names) + " | loss at q75 |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for entry, acc in rows.items():
        lines.append(f"| `{entry}` | " + " | ".join(f"{acc[n]:.1f}" for n in names)
                     + f" | {acc['exact'] - acc['JPEG q75']:.1f} |")
    (HERE / "jpeg_gap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
