"""The README and the documentation: the library example runs, links resolve, words are for users."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", [README, ROOT / "docs/getting-started.md"], ids=lambda p: p.name)
def test_the_library_example_runs(path):
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)
    assert blocks, f"{path.name} has no python example"
    exec(compile(blocks[0], path.name, "exec"), {})  # noqa: S102  (our own documentation)


def test_readme_is_a_front_door():
    assert len(README.read_text().splitlines()) <= 250


def test_readme_relative_links_point_at_files_that_exist():
    links = [link for link in LINK.findall(README.read_text()) if "://" not in link and not link.startswith("#")]
    assert links
    missing = [link for link in links if not (ROOT / link.split("#")[0]).exists()]
    assert not missing, missing


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_words_are_for_users(path):
    """Nothing about how the project was built: no issue numbers, no build-machine slots."""
    assert not re.search(r"\bissue [0-9]+|\blease|\bbuild machine", path.read_text(), flags=re.IGNORECASE)


def test_the_docs_inspection_figure_is_the_committed_record():
    record = ROOT / "results/inspect/kan_convnet.mnist/functions-features.4.png"
    assert (ROOT / "docs/assets/inspect/kan_convnet.mnist-functions-features.4.png").read_bytes() == record.read_bytes()


def test_every_basis_family_has_a_committed_plot():
    from kanvision.layers import list_bases

    assert all((ROOT / f"docs/assets/bases/{name}.png").is_file() for name in list_bases())
