"""python -m kanvision.results: the table is rebuilt from run records and says who wins."""

from __future__ import annotations

import json
from pathlib import Path

from kanvision.results import collect, table


def write_run(folder: Path, kan: str, acc: float, seed: int, args: dict | None = None) -> None:
    folder.mkdir(parents=True)
    meta = {"model": "kkan_small", "kan": kan, "args": {"kan": kan, **(args or {})}, "num_params": 1000,
            "input_size": [1, 28, 28], "dataset": "fashion_mnist", "metrics": {"FashionMNIST": {"acc@1": acc}},
            "epochs": 10, "wall_time_s": 100.0, "seed": seed, "machine": "test"}
    (folder / "kkan_small.json").write_text(json.dumps(meta))
    (folder / "metrics.csv").write_text("epoch,step,time/epoch_s,time/train_images_per_s,test/acc\n"
                                        f"0,10,9.0,6000,\n0,10,,,{acc / 100}\n")


def test_seeds_are_averaged_and_the_twin_verdict_is_plain(tmp_path):
    for seed, acc in enumerate((88.0, 89.0, 90.0)):
        write_run(tmp_path / f"kan-s{seed}", "bspline", acc, seed)
    write_run(tmp_path / "twin", "none", 89.5, 0)
    write_run(tmp_path / "matched", "none", 91.0, 0, {"width_mult": 4.8})
    rows = table(collect(tmp_path))
    kan = next(r for r in rows if r[2] == "bspline")
    assert kan[6] == "3 / 3" and kan[7] == "89.00 +- 1.00" and kan[8] == "9"
    assert kan[10] == "test"  # the machine column
    assert "standard twin 89.50" in kan[11] and "matched twin 91.00" in kan[11]
    assert kan[11].count("**twin wins**") == 2
    assert len(rows) == 3
    assert any(r[2] == "none (width_mult=4.8)" for r in rows)  # the matched twin is told apart
