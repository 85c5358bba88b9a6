"""What ``pip install .`` puts where people look for it (issue 14.6).

Builds the project's wheel (as pip does, with build isolation), installs it under a temporary
prefix, and checks that the man pages land in ``<prefix>/share/man/man1`` byte for byte, that
``man`` finds ``ironwal`` there through PATH the way it finds any installed program's page,
and that the typing marker ``py.typed`` ships.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("install")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(REPO)],
                           capture_output=True, timeout=600)
    if build.returncode != 0:
        pytest.skip(f"pip could not build the wheel here: {build.stderr.decode()[-300:]}")
    wheel = next(work.glob("ironwal_cli-*.whl"))
    prefix = work / "prefix"
    # --ignore-installed: without it pip would first uninstall the copy this test runs from.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
                    "--prefix", str(prefix),
                    str(wheel)], check=True, capture_output=True, timeout=600)
    return prefix


def test_man_pages_are_installed_under_share_man_man1(installed):
    pages = sorted((REPO / "man").glob("*.1"))
    assert pages
    for page in pages:
        copy = installed / "share" / "man" / "man1" / page.name
        assert copy.read_bytes() == page.read_bytes(), page.name


@pytest.mark.skipif(shutil.which("man") is None, reason="no man(1) here")
def test_man_finds_the_page_through_path(installed):
    env = {k: v for k, v in os.environ.items() if k not in ("MANPATH", "MANOPT")}
    env["PATH"] = f"{installed / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    found = subprocess.run(["man", "-w", "ironwal"], capture_output=True, env=env, timeout=60)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.decode().strip()) == installed / "share" / "man" / "man1" / "ironwal.1"


def test_the_wheel_ships_py_typed_and_an_spdx_license(installed):
    wheel = next(installed.parent.glob("ironwal_cli-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert "ironwal_cli/py.typed" in zf.namelist()
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
