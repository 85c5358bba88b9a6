"""Only the optional C speed-up of verify's batch walk; everything else is in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds, and the pure-Python walk is used.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("ironwal_cli.spec._walk", ["ironwal_cli/spec/_walk.c"], optional=True)])
