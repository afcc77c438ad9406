"Shared pytest setup: repo paths, real-data location, and the slow/browser switches."
import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SYNTHLAB_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("MPLBACKEND", "Agg")

def pytest_collection_modifyitems(config, items):
    "Tests marked `slow` run only with SYNTHLAB_SLOW=1."
    if os.environ.get("SYNTHLAB_SLOW") == "1": return
    skip = pytest.mark.skip(reason="slow: set SYNTHLAB_SLOW=1 to run")
    for it in items:
        if "slow" in it.keywords: it.add_marker(skip)

@pytest.fixture(scope="session")
def repo_root() -> Path: return ROOT

@pytest.fixture(scope="session")
def shared_data() -> Path:
    "`../shared/data` (real third-party samples); tests using it skip cleanly where it is absent."
    p = SHARED / "data"
    if not p.exists(): pytest.skip(f"real samples not present at {p}")
    return p

@pytest.fixture(scope="session")
def shared_reference() -> Path:
    p = SHARED / "reference"
    if not p.exists(): pytest.skip(f"reference fixtures not present at {p}")
    return p

@pytest.fixture(scope="session")
def fill_weights(shared_reference):
    "The reference's deterministic weight-fill recipe (`../shared/reference/fill_weights.py`) as a module."
    import importlib.util
    p = shared_reference / "fill_weights.py"
    if not p.exists(): pytest.skip(f"{p} not present")
    spec = importlib.util.spec_from_file_location("fill_weights", p)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod
