"""The optional C speed-ups (spec/_walk.c: verify's batch walk, the bulk append's encoders) and the man
pages; everything else is in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds, and the pure-Python walk is used.
The man pages go to ``<prefix>/share/man/man1``, where ``man`` finds them once the environment's
``bin/`` is on PATH (``man ironwal``) after ``pip install .`` (tests/unit/test_install.py). An
editable install (``pip install -e .``) installs no data files (PEP 660 makes no provision for
them): there ``man -l man/ironwal.1`` or ``MANPATH=$PWD/man:`` reads them from the checkout.
"""

from glob import glob

from setuptools import Extension, setup

setup(ext_modules=[Extension("ironwal_cli.spec._walk", ["ironwal_cli/spec/_walk.c"], optional=True)],
      data_files=[("share/man/man1", sorted(glob("man/*.1")))])
