"""python -m kanvision.results: the table is rebuilt from run records and says who wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kanvision.results import (
    DOC_FILES,
    ROOT,
    Target,
    collect,
    dataset_table,
    fill_present,
    fill_readme,
    readme_tables,
    seeds_loop,
    table,
    target_table,
    write_tables,
)


def write_run(folder: Path, kan: str, acc: float, seed: int, args: dict | None = None, params: int = 1000,
              machine: str = "test", images_per_s: int = 6000, dataset: str = "fashion_mnist") -> None:
    folder.mkdir(parents=True)
    meta = {"model": "kkan_small", "kan": kan, "args": {"kan": kan, **(args or {})}, "num_params": params,
            "input_size": [1, 28, 28], "dataset": dataset, "metrics": {"FashionMNIST": {"acc@1": acc}},
            "epochs": 10, "wall_time_s": 100.0, "seed": seed, "machine": machine,
            "command": f"KANVISION_DATA=/data python train.py --config c.yaml --seed_everything {seed} --logging.save_dir runs/x"}
    (folder / "kkan_small.json").write_text(json.dumps(meta))
    (folder / "metrics.csv").write_text("epoch,step,time/epoch_s,time/train_images_per_s,test/acc\n"
                                        f"0,10,9.0,{images_per_s},\n0,10,,,{acc / 100}\n")


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
    # 89.50 is within the KAN seeds' spread (std 1.00): level; 91.00 is beyond it: the twin wins
    assert "standard twin 89.50 (1,000 params): level (within the seeds' spread)" in kan[11]
    assert "matched twin 91.00 (1,000 params): **twin wins**" in kan[11]
    assert len(rows) == 3
    assert any(r[2] == "none (width_mult=4.8)" for r in rows)  # the matched twin is told apart


def test_a_row_names_each_machine_its_seeds_ran_on_and_their_median_speed(tmp_path):
    write_run(tmp_path / "s0", "bspline", 90.0, 0, machine="GPU A, shared", images_per_s=1000)
    write_run(tmp_path / "s1", "bspline", 90.0, 1, machine="GPU A", images_per_s=3000)
    write_run(tmp_path / "s2", "bspline", 90.0, 2, machine="GPU A", images_per_s=2000)
    (row,) = table(collect(tmp_path))
    # the runs differ by more than a quarter: the median, and the range beside it
    assert row[9] == "2,000 (1,000-3,000)" and row[10] == "GPU A, shared / GPU A"


@pytest.mark.parametrize(("machine", "shown"), [
    ("2-core CPU (AMD EPYC), 1 torch thread", "CPU (AMD EPYC), 1 torch thread"),
    ("2-core CPU (Intel(R) Xeon(R) Processor), 1 torch thread", "CPU (Intel Xeon), 1 torch thread"),
    ("16-core CPU (Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz), 4 torch threads", "CPU (Intel Xeon Gold 6338), 4 torch threads"),
    ("GPU: NVIDIA H100 80GB HBM3, shared with up to 9 other runs", "GPU: NVIDIA H100 80GB HBM3, shared with up to 9 other runs"),
])
def test_a_row_names_the_cpu_model_its_runs_had(tmp_path, machine, shown):
    write_run(tmp_path / "s0", "bspline", 90.0, 0, machine=machine)
    (row,) = table(collect(tmp_path))
    assert row[10] == shown


@pytest.mark.parametrize(("speeds", "shown"), [((2000, 2100, 2400), "2,100"), ((2000, 2100, 5000), "2,100 (2,000-5,000)")])
def test_one_slow_seed_neither_skews_nor_hides_in_the_row_speed(tmp_path, speeds, shown):
    for seed, speed in enumerate(speeds):
        write_run(tmp_path / f"s{seed}", "bspline", 90.0, seed, images_per_s=speed)
    (row,) = table(collect(tmp_path))
    assert row[9] == shown


def test_each_kan_row_meets_the_twin_matched_to_its_own_size(tmp_path):
    write_run(tmp_path / "bspline", "bspline", 90.0, 0, params=1000)
    write_run(tmp_path / "gram", "gram", 89.0, 0, params=500)
    write_run(tmp_path / "matched-bspline", "none", 92.0, 0, {"width_mult": 4.8}, params=990)
    write_run(tmp_path / "matched-gram", "none", 88.0, 0, {"width_mult": 3.1}, params=505)
    rows = {r[2]: r[11] for r in table(collect(tmp_path))}
    assert rows["bspline"] == "matched twin 92.00 (990 params): **twin wins**"
    assert rows["gram"] == "matched twin 88.00 (505 params): KAN wins"


@pytest.mark.parametrize(("twin_acc", "dataset", "verdict"), [
    # one run each on Fashion-MNIST's 10,000 test images: the 95% margin of the gap is about 0.8 points
    (90.5, "fashion_mnist", "level (within the test set's 95% margin, 0.82)"),
    (89.2, "fashion_mnist", "level (within the test set's 95% margin, 0.85)"),
    (91.0, "fashion_mnist", "**twin wins**"),
    (88.9, "fashion_mnist", "KAN wins"),
    # a test set of unknown size (data-dependent): no margin to apply, any gap decides
    (90.5, "imagefolder", "**twin wins**"),
    (90.0, "imagefolder", "tie"),
])
def test_single_runs_within_the_test_sets_sampling_margin_are_level(tmp_path, twin_acc, dataset, verdict):
    write_run(tmp_path / "kan", "bspline", 90.0, 0, dataset=dataset)
    write_run(tmp_path / "twin", "none", twin_acc, 0, dataset=dataset)
    (kan,) = (r for r in table(collect(tmp_path)) if r[2] == "bspline")
    assert kan[11] == f"standard twin {twin_acc:.2f} (1,000 params): {verdict}"


def test_a_records_own_test_image_count_sets_the_margin(tmp_path):
    # an image folder's test set has no registered size; the records say they had 2,000 images,
    # so the margin is sqrt(5) times the 10,000-image one: 1.84 points at 90% against 90.5%
    for name, kan, acc in (("kan", "bspline", 90.0), ("twin", "none", 90.5)):
        write_run(tmp_path / name, kan, acc, 0, dataset="imagefolder")
        meta_file = tmp_path / name / "kkan_small.json"
        meta = json.loads(meta_file.read_text())
        meta["metrics"]["FashionMNIST"]["images"] = 2000
        meta_file.write_text(json.dumps(meta))
    (kan,) = (r for r in table(collect(tmp_path)) if r[2] == "bspline")
    assert kan[11] == "standard twin 90.50 (1,000 params): level (within the test set's 95% margin, 1.84)"


def test_target_rows_pick_the_best_kan_within_budget_and_say_if_met(tmp_path):
    for seed, acc in enumerate((90.0, 91.0, 92.0)):
        write_run(tmp_path / f"small-s{seed}", "bspline", acc, seed, params=9_000)
    write_run(tmp_path / "big", "gram", 95.0, 0, params=50_000)
    write_run(tmp_path / "matched", "none", 92.5, 0, {"width_mult": 2.0}, params=9_100)
    small, big, none = target_table(collect(tmp_path), (Target("fashion_mnist", 10_000, 90.5),
                                                       Target("fashion_mnist", 100_000, 96.0),
                                                       Target("mnist", 100_000, 99.0)))
    assert small[1].startswith("`kkan_small` bspline") and small[4] == "91.00 +- 1.00 (3 seeds)"
    assert small[5] == "**yes**" and "**twin wins**" in small[6]
    assert small[7] == "`for s in 0 1 2; do python train.py --config c.yaml --seed_everything $s; done`"
    assert big[1].startswith("`kkan_small` bspline")  # 3 seeds beat one better-scoring seed
    assert big[5] == "no (5.00 short)"
    assert none[1] == "no run yet"


def test_seeds_loop_keeps_the_options_that_change_the_run():
    cmd = "KANVISION_DATA=/d python train.py --config a.yaml --trainer.max_epochs 40 --seed_everything 2 --logging.save_dir r"
    assert seeds_loop(cmd, 2) == "for s in 0 1; do python train.py --config a.yaml --trainer.max_epochs 40 --seed_everything $s; done"
    assert seeds_loop(None) == "-"
    on_our_disk = "python train.py --config c.yaml --data.root /data/sets/cifar-10-offline --seed_everything 0"
    assert "--data.root path/to/cifar-10-offline" in seeds_loop(on_our_disk)
    # a row of one seed repeats that seed, not a loop from 0
    assert seeds_loop(cmd, [2]) == "python train.py --config a.yaml --trainer.max_epochs 40 --seed_everything 2"
    assert seeds_loop(cmd, [2, 0]).startswith("for s in 0 2; do ")
    # a run that resumed after a stop is repeated from the start
    assert seeds_loop(cmd + " --ckpt_path last", [2]) == seeds_loop(cmd, [2])


def test_a_dataset_table_holds_that_datasets_rows_with_their_twins_and_commands(tmp_path):
    for seed, acc in enumerate((88.0, 89.0, 90.0)):
        write_run(tmp_path / f"kan-s{seed}", "bspline", acc, seed)
    write_run(tmp_path / "matched", "none", 91.0, 1, {"width_mult": 4.8})
    write_run(tmp_path / "other", "bspline", 50.0, 0)
    meta_file = tmp_path / "other" / "kkan_small.json"
    meta_file.write_text(meta_file.read_text().replace('"fashion_mnist"', '"mnist"'))
    kan, matched = dataset_table(collect(tmp_path), "fashion_mnist")  # the mnist run is another table's
    assert kan[:6] == ["`kkan_small`", "bspline", "1,000", "10", "3", "89.00 +- 1.00"]
    assert "matched twin 91.00 (1,000 params): **twin wins**" in kan[9]
    assert kan[10] == "`for s in 0 1 2; do python train.py --config c.yaml --seed_everything $s; done`"
    assert matched[4] == "1" and matched[10] == "`python train.py --config c.yaml --seed_everything 1`"
    assert dataset_table(collect(tmp_path), "cifar10") == []


def test_fill_readme_replaces_only_the_marked_block():
    text = "a\n<!-- kanvision.results:runs -->\nold\ntable\n<!-- /kanvision.results:runs -->\nb\n"
    assert fill_readme(text, {"runs": "| new |"}) == "a\n<!-- kanvision.results:runs -->\n| new |\n<!-- /kanvision.results:runs -->\nb\n"
    with pytest.raises(ValueError, match="kanvision.results:targets"):
        fill_readme(text, {"targets": "x"})


def test_readme_and_docs_tables_match_the_committed_records():
    """The results tables of the README and the documentation are what ``python -m
    kanvision.results --write`` writes from results/ and checkpoints/: rerun it after adding a
    run. Every table has a place, and the README keeps the headline (targets) table and the
    CIFAR-10 rows."""
    tables, placed = readme_tables(), {}
    for path in DOC_FILES:
        text = path.read_text()
        filled, found = fill_present(text, tables)
        assert filled == text, f"{path.relative_to(ROOT)} is out of date: run python -m kanvision.results --write"
        placed[path.relative_to(ROOT).as_posix()] = found
    assert set().union(*placed.values()) == set(tables)
    assert placed["README.md"] == {"targets", "cifar10"}


def test_write_tables_fills_each_file_and_wants_a_place_for_every_table(tmp_path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("<!-- kanvision.results:runs -->\nold\n<!-- /kanvision.results:runs -->\n")
    b.write_text("no markers\n")
    assert write_tables([a, b], {"runs": "| new |"}) == [a]
    assert "| new |" in a.read_text() and b.read_text() == "no markers\n"
    with pytest.raises(ValueError, match="kanvision.results:targets"):
        write_tables([a, b], {"runs": "| new |", "targets": "x"})


def test_a_row_is_marked_approximate_when_any_of_its_runs_has_no_epoch_timer(tmp_path):
    write_run(tmp_path / "s0", "bspline", 90.0, 0)
    write_run(tmp_path / "s1", "bspline", 90.0, 1)
    (tmp_path / "s1" / "metrics.csv").write_text("epoch,step,test/acc\n0,10,0.9\n")  # predates the timer
    (row,) = table(collect(tmp_path))
    assert row[8].startswith("~")


def test_a_row_tested_with_a_mask_shows_the_marked_images_accuracy(tmp_path):
    for seed, (acc, exact) in enumerate(((80.0, 81.0), (82.0, 83.0))):
        write_run(tmp_path / f"s{seed}", "bspline", acc, seed)
        meta_file = tmp_path / f"s{seed}" / "kkan_small.json"
        meta = json.loads(meta_file.read_text())
        meta["metrics"]["FashionMNIST"]["exact_subset"] = {"acc@1": exact, "ci95_wilson": [78.5, 83.3], "images": 1000}
        meta_file.write_text(json.dumps(meta))
    (row,) = table(collect(tmp_path))
    assert row[7] == "81.00 +- 1.41; exact 1,000: 82.00 +- 1.41"
    (single,) = table([r for r in collect(tmp_path) if r.seed == 0])
    assert single[7] == "80.00; exact 1,000: 81.00 (95% CI 78.50-83.30)"
    write_run(tmp_path / "plain", "bspline", 90.0, 0, {"grid_size": 3})
    plain = next(r for r in table(collect(tmp_path)) if "grid_size" in r[2])
    assert plain[7] == "90.00"  # no mask: one number


def test_fine_tuned_runs_are_rows_of_their_own(tmp_path):
    """A run started from pretrained weights never joins the row of training from scratch, nor
    a fine-tuning run at another learning rate."""
    for name, config in (("scratch", {}), ("tuned", {"pretrained": "kkan_small.mnist", "lr": 0.003}),
                         ("tuned-lr", {"pretrained": "kkan_small.mnist", "lr": 0.001})):
        write_run(tmp_path / name, "bspline", 90.0, 0)
        (tmp_path / name / "config.yaml").write_text(json.dumps({"model": config}))
    rows = table(collect(tmp_path))
    assert sorted(r[2] for r in rows) == [
        "bspline", "bspline (lr=0.001, pretrained=kkan_small.mnist)", "bspline (lr=0.003, pretrained=kkan_small.mnist)",
    ]


def test_runs_with_extra_augmentation_are_rows_of_their_own(tmp_path):
    """JPEG compression or RandAugment on top of the recipe makes another row, labelled, whose
    verdict meets only a twin trained the same way."""
    for name, kan, config in (("plain", "bspline", {}), ("jpeg", "bspline", {"data": {"jpeg_quality": [50, 100]}}),
                              ("randaug", "bspline", {"data": {"rand_augment": "rand-m9-mstd0.5"}}),
                              ("twin", "none", {}), ("twin-jpeg", "none", {"data": {"jpeg_quality": [50, 100]}})):
        write_run(tmp_path / name, kan, 91.0 if name == "twin-jpeg" else 90.0, 0)
        (tmp_path / name / "config.yaml").write_text(json.dumps(config))
    rows = {r[2]: r for r in table(collect(tmp_path))}
    assert set(rows) == {"bspline", "bspline (jpeg_quality=(50, 100))", "bspline (rand_augment=rand-m9-mstd0.5)",
                         "none", "none (jpeg_quality=(50, 100))"}
    assert "standard twin 91.00" in rows["bspline (jpeg_quality=(50, 100))"][11]
    assert "standard twin 90.00" in rows["bspline"][11]
    assert rows["bspline (rand_augment=rand-m9-mstd0.5)"][11] == "-"


@pytest.mark.parametrize("flag", ["--model.lr 0.006", "--model.lr=0.006"])
def test_runs_that_override_an_optimisation_setting_are_rows_of_their_own(tmp_path, flag):
    """A learning-rate sweep run (``--model.lr`` on the command line) is labelled with the
    config's value and meets only a twin trained with the same override; the same learning rate
    set by a config file, not a flag, is the plain recipe."""
    for name, kan, lr, extra in (("plain", "bspline", 0.003, ""), ("sweep", "bspline", 0.006, flag),
                                 ("twin", "none", 0.003, ""), ("twin-sweep", "none", 0.006, flag)):
        write_run(tmp_path / name, kan, 91.0 if name == "twin-sweep" else 90.0, 0)
        meta = tmp_path / name / "kkan_small.json"
        meta.write_text(meta.read_text().replace("--logging.save_dir", f"{extra} --logging.save_dir"))
        (tmp_path / name / "config.yaml").write_text(json.dumps({"model": {"lr": lr}, "data": {"batch_size": 128}}))
    rows = {r[2]: r for r in table(collect(tmp_path))}
    assert set(rows) == {"bspline", "bspline (lr=0.006)", "none", "none (lr=0.006)"}
    assert "standard twin 91.00" in rows["bspline (lr=0.006)"][11]
    assert "standard twin 90.00" in rows["bspline"][11]


@pytest.mark.parametrize("precision", [None, 32, "32-true"])
def test_half_precision_runs_are_rows_of_their_own_and_meet_twins_trained_alike(tmp_path, precision):
    """A bf16-mixed run is labelled and meets only a bf16-mixed twin; float32 in any spelling
    (or none given) is the plain recipe."""
    for name, kan, prec, acc in (("fp32", "bspline", precision, 90.0), ("bf16", "bspline", "bf16-mixed", 90.0),
                                 ("twin", "none", precision, 92.0), ("twin-bf16", "none", "bf16-mixed", 91.0)):
        write_run(tmp_path / name, kan, acc, 0)
        (tmp_path / name / "config.yaml").write_text(json.dumps({"trainer": {"precision": prec}}))
    rows = {r[2]: r for r in table(collect(tmp_path))}
    assert set(rows) == {"bspline", "bspline (precision=bf16-mixed)", "none", "none (precision=bf16-mixed)"}
    assert "standard twin 91.00" in rows["bspline (precision=bf16-mixed)"][11]
    assert "standard twin 92.00" in rows["bspline"][11]


def test_the_standard_twin_of_a_narrowed_kan_model_has_its_width(tmp_path):
    """A KAN model narrowed to fit a budget (width_mult 0.8) meets the plain model at the same
    width as its standard twin, and the widened one as its parameter-matched twin."""
    write_run(tmp_path / "kan", "gram", 75.0, 0, {"width_mult": 0.8, "degree": 3}, params=865)
    write_run(tmp_path / "standard", "none", 72.0, 0, {"width_mult": 0.8}, params=175)
    write_run(tmp_path / "matched", "none", 77.0, 0, {"width_mult": 1.788}, params=862)
    kan = next(r for r in table(collect(tmp_path)) if r[2].startswith("gram"))
    assert "standard twin 72.00 (175 params)" in kan[11] and "matched twin 77.00 (862 params)" in kan[11]


def test_an_epoch_timed_across_a_resume_by_older_records_is_left_out(tmp_path):
    """Older records of runs resumed mid-epoch hold an "epoch" longer than the whole run (the timer
    started at 0) with a tiny throughput; the row's speed comes from the whole epochs."""
    write_run(tmp_path / "s0", "bspline", 90.0, 0, images_per_s=6000)
    with (tmp_path / "s0" / "metrics.csv").open("a") as f:
        f.write("1,20,36000.0,2,\n")
    (row,) = table(collect(tmp_path))
    assert (row[8], row[9]) == ("9", "6,000")
