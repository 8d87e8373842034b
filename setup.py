"""Packages and their folders; all other metadata lives in setup.cfg.

The binaries stay in the repository's top-level tools/ (`python -m tools.train` from a
checkout) and are installed as `vgan_tf.tools`, so no top-level package named `tools`
lands in site-packages (where it could collide with another project's).
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["vgan_tf", "vgan_tf.*"]) + ["vgan_tf.tools"],
    package_dir={"vgan_tf.tools": "tools"},
)
