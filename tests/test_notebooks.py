"""Every notebook in nbs/ runs top to bottom through nbdev's own runner (`nbdev.test.test_nb`).

Each notebook runs in its own process, so one notebook's state cannot leak into another's. Cells flagged `#| slow`
are skipped unless SYNTHLAB_SLOW=1, exactly as `nbdev-test` does with `tst_flags = "slow"`.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("_"))

RUNNER = """
import sys
from nbdev.test import test_nb
force = ['slow'] if sys.argv[2] == '1' else None
ok, secs = test_nb(sys.argv[1], skip_flags=['slow'], force_flags=force)
print(f'{sys.argv[1]}: {"ok" if ok else "FAILED"} in {secs:.1f}s')
sys.exit(0 if ok else 1)
"""

def test_there_are_notebooks():
    names = {p.name for p in NBS}
    for must in ["index.ipynb", "00_core.ipynb", "06_cli.ipynb"]: assert must in names

@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NBS])
def test_notebook_runs(nb):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    r = subprocess.run([sys.executable, "-c", RUNNER, str(nb), os.environ.get("SYNTHLAB_SLOW", "0")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
