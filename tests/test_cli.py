"""End-to-end tests of the `synthlab` console script, run as a user would run it."""
import os, subprocess, sys
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent / "synthlab"

def run(*args, **kw):
    cmd = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "import sys; from synthlab.cli import main; sys.exit(main())"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)

def test_help_lists_verbs():
    r = run("--help")
    assert r.returncode == 0
    for verb in ["dashboard", "train", "info"]: assert verb in r.stdout

def test_version():
    import synthlab
    r = run("--version")
    assert r.returncode == 0 and synthlab.__version__ in r.stdout

def test_info():
    r = run("info")
    assert r.returncode == 0 and "torch" in r.stdout and "shipped presets" in r.stdout

def test_dashboard_dry_run_prints_localhost_url():
    r = run("dashboard", "--dry-run", "--port", "8871")
    assert r.returncode == 0, r.stderr
    assert "http://127.0.0.1:8871/voila/render/index.ipynb" in r.stdout
    assert "--Voila.ip=127.0.0.1" in r.stdout

def test_user_error_is_one_line_exit_2(tmp_path):
    r = run("dashboard", "--dry-run", "--path", str(tmp_path / "nowhere"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "no dashboards found" in lines[0]

def test_unknown_verb_fails():
    r = run("frobnicate")
    assert r.returncode != 0 and "invalid choice" in r.stderr

def test_train_help_is_the_train_loops():
    r = run("train", "--help")
    assert r.returncode == 0 and "toy" in r.stdout and "--resume" in r.stdout

def test_train_toy_end_to_end_and_refuses_overwrite(tmp_path):
    out = tmp_path / "run"
    r = run("train", "toy", "--epochs", "1", "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert (out / "last.pt").exists() and (out / "history.json").exists()
    import torch
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["step"] > 0
    before = (out / "last.pt").read_bytes()
    r = run("train", "toy", "--epochs", "1", "--out", str(out), "--no-progress")
    assert r.returncode == 2 and "already holds a checkpoint" in r.stderr and "Traceback" not in r.stderr
    assert (out / "last.pt").read_bytes() == before

def test_unknown_task_is_clear():
    r = run("train", "nosuchtask")
    assert r.returncode == 2 and "toy" in r.stderr and "Traceback" not in r.stderr
