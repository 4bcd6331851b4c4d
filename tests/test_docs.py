"""The project documents itself: the README and --help point to a design document that a
fresh clone has, and every relative link in the two documents leads to a file."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"


def relative_links(markdown: Path) -> list[str]:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", markdown.read_text(encoding="utf-8"))
    return [link for link in links if not re.match(r"^[a-z]+:", link)]


@pytest.mark.parametrize("doc", [ROOT / "README.md", DESIGN], ids=lambda p: p.name)
def test_relative_links_lead_to_files_in_the_project(doc):
    links = relative_links(doc)
    assert links
    for link in links:
        target = (doc.parent / link).resolve()
        assert target.exists(), f"{doc.name} links to {link}, which is missing"
        assert ROOT in target.parents, f"{doc.name} links outside the project: {link}"


def test_readme_links_the_design_document():
    assert "docs/design.md" in relative_links(ROOT / "README.md")


def test_help_points_to_the_design_document():
    out = subprocess.run([sys.executable, "-m", "journeylib", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    named = re.findall(r"[\w./-]+\.md", out.stdout)
    assert named == ["docs/design.md"] and (ROOT / named[0]).exists(), out.stdout


def test_design_document_defines_every_number_it_is_asked_for():
    text = DESIGN.read_text(encoding="utf-8")
    for heading in ("### Flows", "### Customers at a stage, the funnel and conversion", "### How customers feel",
                    "### Pain points and opportunities", "### Key drivers", "### Personas",
                    "### Differences between two views", "## The journey model and the goal", "## The layers"):
        assert heading in text, heading
    assert "t(0.975, n-1)" in text and "two-proportion z-test" in text and "Welch" in text
