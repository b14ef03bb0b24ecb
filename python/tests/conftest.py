"""The tests run against the package in this checkout (python/swiftreg) and the library built in
.build/release unless SWIFTREG_LIBRARY names another; the CLI they compare with is .build/release/swiftreg."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("SWIFTREG_LIBRARY", os.path.join(ROOT, ".build", "release", "libswiftreg_c.so"))
CLI = os.path.join(ROOT, ".build", "release", "swiftreg")
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")


@pytest.fixture
def cli():
    if not os.path.exists(CLI):
        pytest.skip(f"{CLI} is not built (swift build -c release)")
    return CLI


@pytest.fixture
def data():
    if not os.path.isdir(DATA):
        pytest.skip(f"{DATA} is absent: the real-data checks need ../shared/data")
    return DATA
