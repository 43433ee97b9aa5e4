"""Hosted weights: an entry with a url is downloaded once into the cache, checked against its
sha256, and fails with a one-line error when it cannot be fetched or does not match."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import kanvision
from kanvision.errors import CheckpointError
from kanvision.models.hub import pretrained_file, sha256
from kanvision.ship import main as ship_main

CAP_BYTES = 80_000_000  # the most checkpoints/ may hold in the repository (80 MB); larger weights go by --url


def _run(folder: Path) -> tuple[Path, torch.nn.Module]:
    """A finished run's folder, as train.py leaves it."""
    folder.mkdir(parents=True)
    model = kanvision.create_model("kkan_small", kan="none")
    kanvision.save_pretrained(model, folder / "kkan_small.safetensors")
    meta = {"model": "kkan_small", "kan": "none", "file": "kkan_small.safetensors",
            "metrics": {"MNIST": {"acc@1": 98.0}}}
    (folder / "kkan_small.json").write_text(json.dumps(meta))
    (folder / "config.yaml").write_text("seed_everything: 0\n")
    (folder / "metrics.csv").write_text("epoch,test/acc\n0,0.98\n")
    return folder, model


@pytest.fixture
def hosted(tmp_path, monkeypatch, capsys):
    """An entry shipped with --url: its file sits in hosted/ (the upload), the cache is empty."""
    checkpoints = tmp_path / "repo/checkpoints"
    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(checkpoints))
    monkeypatch.setenv("KANVISION_CACHE", str(tmp_path / "cache"))
    server = tmp_path / "server"
    server.mkdir()
    run, model = _run(tmp_path / "run")
    url = (server / "kkan_small.mnist.safetensors").as_uri()
    ship_main([str(run), "--tag", "mnist", "--url", url])
    upload = tmp_path / "repo/hosted/kkan_small.mnist.safetensors"
    assert f"upload {upload} to {url}" in capsys.readouterr().out
    assert not (checkpoints / "kkan_small.mnist.safetensors").exists()
    return {"model": model, "upload": upload, "server": server, "url": url, "cache": tmp_path / "cache/weights"}


def test_hosted_entry_downloads_once_checks_its_hash_and_loads(hosted):
    shutil.copyfile(hosted["upload"], hosted["server"] / hosted["upload"].name)  # the upload
    cfg = kanvision.get_pretrained_cfg("kkan_small.mnist")
    assert cfg["url"] == hosted["url"] and cfg["sha256"] == sha256(hosted["upload"])
    loaded = kanvision.create_model("kkan_small.mnist", pretrained=True)
    for a, b in zip(hosted["model"].state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    cached = hosted["cache"] / "kkan_small.mnist.safetensors"
    assert pretrained_file(cfg) == cached
    (hosted["server"] / hosted["upload"].name).unlink()  # offline now: the cached copy is used
    assert pretrained_file(cfg) == cached


def test_unreachable_hosted_entry_is_a_one_line_error_naming_the_cache(hosted):
    with pytest.raises(CheckpointError, match="could not download") as e:
        kanvision.create_model("kkan_small.mnist", pretrained=True)
    assert str(hosted["cache"]) in str(e.value) and "\n" not in str(e.value)
    assert not list(hosted["cache"].glob("*.safetensors"))


def test_hosted_file_with_another_hash_is_refused_and_not_cached(hosted):
    kanvision.save_pretrained(kanvision.create_model("kkan_small", kan="none"),
                              hosted["server"] / hosted["upload"].name)  # other weights
    with pytest.raises(CheckpointError, match="sha256"):
        kanvision.create_model("kkan_small.mnist", pretrained=True)
    assert not list(hosted["cache"].glob("*.safetensors"))


def test_stale_cached_copy_is_downloaded_again(hosted):
    shutil.copyfile(hosted["upload"], hosted["server"] / hosted["upload"].name)
    hosted["cache"].mkdir(parents=True)
    stale = hosted["cache"] / hosted["upload"].name
    stale.write_bytes(b"an older upload")
    kanvision.create_model("kkan_small.mnist", pretrained=True)
    assert sha256(stale) == sha256(hosted["upload"])


def test_entry_without_file_or_url_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KANVISION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    from kanvision.ship import ship

    ship(_run(tmp_path / "run")[0], "mnist")
    (tmp_path / "checkpoints/kkan_small.mnist.safetensors").unlink()
    with pytest.raises(CheckpointError, match="is missing and its entry has no url"):
        kanvision.create_model("kkan_small.mnist", pretrained=True)


def test_checkpoints_folder_is_under_the_size_cap():
    folder = kanvision.models.pretrained.checkpoint_dir()
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    assert size < CAP_BYTES, f"checkpoints/ holds {size / 1e6:.1f} MB: ship large weights with --url"
