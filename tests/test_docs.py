"""The offline docs check: everything `nbdev-docs` does before it hands over to Quarto, then nbconvert instead of Quarto.

`nbdev-proc-nbs` / `nbdev-docs` start with `_ensure_quarto()`, which downloads and installs Quarto when it is missing.
Quarto is not available on the test machines, so this test runs nbdev's own pre-docs step (`nbdev.quarto._pre_docs`:
`refresh_quarto_yml()`, `_build_modidx()`, `nbdev_sidebar`, `nbdev.serve.proc_nbs`) with only that install replaced,
on a temporary copy of the repository so the checkout is never touched. Every processed notebook is then rendered
with nbconvert's HTMLExporter (no execution): a page that nbconvert cannot render, a `show_doc` that failed, or an
exported name missing from its page fails the test. Where Quarto exists, `make docs` runs the real thing (`nbdev-docs`).
"""
import ast, json, os, re, shutil, subprocess, sys, time
from pathlib import Path
import nbformat, pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
GENERATED = ["nbdev.yml", "sidebar.yml", "_quarto.yml"]  # files nbdev (re)writes in nbs/ on every docs run

# Runs in a fresh interpreter inside the copy: exactly `nbdev-proc-nbs` (nbdev.quarto._pre_docs) minus the Quarto
# install. n_workers=0 processes the notebooks one after another in that interpreter (no process pool to spawn).
PROC = r"""
import json, sys
import nbdev.quarto as q
q._ensure_quarto = lambda: None   # the only difference from `nbdev-proc-nbs`: never download Quarto
cache, cfg, path = q._pre_docs(n_workers=0)
print(json.dumps({"cache": str(cache), "nbs": str(path), "doc_path": str(cfg.doc_path)}))
"""

def _ignore(d, names): return [n for n in names if n in ("_proc", "_docs", "__pycache__", ".ipynb_checkpoints")]

def _source_nbs():
    return sorted(p for p in NBS.rglob("*.ipynb")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(NBS).parts))

def _numbered(): return [p for p in _source_nbs() if p.parent == NBS and re.match(r"^\d\d_", p.name)]

def _run_proc(root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}  # IN_TEST would make nbdev skip _build_modidx
    env.update(MPLBACKEND="Agg", PYTHONWARNINGS="ignore", PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-c", PROC], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        err = r.stderr[r.stderr.rfind("Exception: Error"):] if "Exception: Error" in r.stderr else r.stderr[-6000:]
        pytest.fail(f"nbdev's docs processing (what `nbdev-proc-nbs` runs) failed:\n{err.strip()}", pytrace=False)
    return json.loads(r.stdout.strip().splitlines()[-1])

def _git_ignored(p: Path) -> bool:
    "True if git ignores `p` (then a stale local copy cannot dirty the checkout); False without git."
    try: return subprocess.run(["git", "check-ignore", "-q", str(p)], cwd=ROOT, capture_output=True).returncode == 0
    except OSError: return False

def _snapshot(d: Path) -> dict: return {n: (d / n).read_bytes() for n in GENERATED if (d / n).exists()}

@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    "A copy of pyproject.toml + nbs/ + synthlab/ processed twice the way `nbdev-proc-nbs` does; returns paths and timings."
    root = tmp_path_factory.mktemp("docs")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(NBS, root / "nbs", ignore=_ignore)
    shutil.copytree(ROOT / "synthlab", root / "synthlab", ignore=_ignore)
    t0 = time.time(); first = _run_proc(root); t1 = time.time()
    snap1 = _snapshot(root / "nbs")
    second = _run_proc(root); t2 = time.time()
    snap2 = _snapshot(root / "nbs")
    print(f"\ndocs processing: first run {t1 - t0:.1f}s, second run {t2 - t1:.1f}s in {root}")
    return dict(root=root, cache=Path(first["cache"]), nbs=root / "nbs", snap1=snap1, snap2=snap2, second=second)

def _frontmatter(nb) -> dict:
    "The YAML frontmatter nbdev's FrontmatterProc puts in the first raw cell of a processed notebook."
    for c in nb.cells:
        if c.cell_type == "raw" and c.source.lstrip().startswith("---"):
            return yaml.safe_load(c.source.strip().strip("-")) or {}
    return {}

def _clean_for_nbconvert(nb):
    """Drop the two things nbdev adds that are outside the notebook schema and that Quarto ignores:
    the `has_sd` marker on generated show_doc cells and execnb's timing floats in `metadata.execution`."""
    for c in nb.cells:
        c.pop("has_sd", None)
        c.get("metadata", {}).pop("execution", None)
    return nb

def _exported_names(nb_path: Path) -> list[str]:
    "Public functions and classes defined in the `#| export` cells of a source notebook."
    names = []
    for c in nbformat.read(nb_path, as_version=4).cells:
        if c.cell_type != "code" or not re.search(r"^#\|\s*exports?\s*$", c.source, re.M): continue
        for node in ast.parse(c.source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names.append(node.name)
    return names

# --- the source notebooks ------------------------------------------------------------------------------------------

def test_numbered_notebooks_have_title_and_summary():
    nbs = _numbered()
    assert nbs, "no numbered notebooks (NN_name.ipynb) in nbs/"
    bad = []
    for p in nbs + [NBS / "dashboards" / "index.ipynb"]:
        md = next((c for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown"), None)
        lines = md.source.strip().splitlines() if md else []
        if not lines or not lines[0].startswith("# ") or not any(l.startswith("> ") for l in lines[1:]):
            bad.append(p.relative_to(NBS).as_posix())
    assert not bad, f"first markdown cell must be '# title' followed by a '> summary' line: {bad}"

# --- what nbdev generates --------------------------------------------------------------------------------------------

def test_generated_config_is_stable(docs):
    "A second docs run rewrites nothing, and the copies in the checkout are what nbdev generates (so git stays clean)."
    assert set(docs["snap1"]) == set(GENERATED), f"nbdev did not generate {set(GENERATED) - set(docs['snap1'])}"
    assert docs["snap1"] == docs["snap2"], "a second docs run changed nbs/{nbdev,sidebar,_quarto}.yml"
    stale = [n for n in GENERATED if (NBS / n).exists() and not _git_ignored(NBS / n) and (NBS / n).read_bytes() != docs["snap1"][n]]
    assert not stale, (f"nbs/{stale} differ from what nbdev generates, so `make docs` would dirty git; regenerate with "
                       "`python -c \"from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar; refresh_quarto_yml(); "
                       "nbdev_sidebar.__wrapped__()\"` from the repo root")
    assert (NBS / "_quarto.yml").exists(), "nbs/_quarto.yml is missing (nbdev 3 reads it from nbs/)"

def test_quarto_config(docs):
    q = yaml.safe_load(docs["snap1"]["_quarto.yml"])
    assert q["project"]["type"] == "website"
    assert set(q["metadata-files"]) == {"nbdev.yml", "sidebar.yml"}
    assert (NBS / q["format"]["html"]["css"]).exists()
    nbdev_yml = yaml.safe_load(docs["snap1"]["nbdev.yml"])
    assert nbdev_yml["project"]["output-dir"] == "_docs"
    assert nbdev_yml["website"]["title"] == "synthlab"
    side = yaml.safe_load(docs["snap1"]["sidebar.yml"])["website"]["sidebar"]["contents"]
    flat = json.dumps(side)
    for p in _source_nbs(): assert p.name in flat, f"{p.name} is missing from the generated sidebar"
    assert side[0] == "index.ipynb", "the landing page must come first in the sidebar"
    for href in [i["href"] for i in q["website"]["navbar"].get("left", [])]:
        assert (NBS / href).exists(), f"navbar links to missing {href}"

# --- the processed notebooks rendered to HTML -----------------------------------------------------------------------

def test_every_notebook_renders(docs):
    from nbconvert import HTMLExporter
    cache, exporter = docs["cache"], HTMLExporter()
    srcs = _source_nbs()
    procd = {p.relative_to(cache).as_posix(): p for p in cache.rglob("*.ipynb")}
    missing = [p.relative_to(NBS).as_posix() for p in srcs if p.relative_to(NBS).as_posix() not in procd]
    assert not missing, f"nbdev did not process {missing}"
    problems = []
    for src in srcs:
        rel = src.relative_to(NBS).as_posix()
        nb = _clean_for_nbconvert(nbformat.read(procd[rel], as_version=4))
        try: nbformat.validate(nb)
        except nbformat.ValidationError as e: problems.append(f"{rel}: invalid notebook after processing: {e.message}"); continue
        title = _frontmatter(nb).get("title")
        if not title: problems.append(f"{rel}: no title in the frontmatter (first markdown cell '# title')"); continue
        try: html, _ = exporter.from_notebook_node(nb)
        except Exception as e: problems.append(f"{rel}: nbconvert failed: {type(e).__name__}: {e}"); continue
        (cache / rel).with_suffix(".html").write_text(html)
        if title not in html: problems.append(f"{rel}: title {title!r} not in its HTML")
        errs = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if errs: problems.append(f"{rel}: error output while documenting: {errs[0].get('ename')}: {errs[0].get('evalue')}")
        # every show_doc cell (hand-written or added by nbdev for exported names) must have run and rendered
        for c in nb.cells:
            m = re.search(r"^show_doc\(([\w.]+)", c.source or "", re.M) if c.cell_type == "code" else None
            if not m: continue
            outs = [o for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
            if not outs: problems.append(f"{rel}: show_doc({m.group(1)}) produced no documentation"); continue
        for name in _exported_names(src):
            if not re.search(rf"\b{re.escape(name)}\b", html): problems.append(f"{rel}: exported {name} not on its page")
    assert not problems, "docs problems:\n" + "\n".join(problems)

def test_dashboard_page(docs):
    "The dashboard index is also a docs page: the wing cards and the playground's explanation survive processing."
    from nbconvert import HTMLExporter
    nb = _clean_for_nbconvert(nbformat.read(docs["cache"] / "dashboards" / "index.ipynb", as_version=4))
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert _frontmatter(nb)["title"] == "synthlab dashboards"
    assert html.count('class="sl-card ') == 3, "the three wing cards are missing from the dashboard page"
    for word in ["AnimeInterp", "PC-AVS", "ForgeryNet", "Flow playground", "backward warp", "forward splat"]:
        assert word in html, f"{word!r} is missing from the dashboard page"
    assert "code-fold: true" in html, "the playground's code should be folded on the docs page"
