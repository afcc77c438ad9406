"""What the browser tests share: one `synthlab dashboard` server (what `make demo` runs) and an offline Chromium page.

Chromium is the Debian package at /usr/bin/chromium, driven through the `playwright` Python package (no browser is
ever downloaded). Every request to a host other than 127.0.0.1/localhost is aborted, so the tests are offline by
construction. Screenshots go to artifacts/browser/ (ignored by git) for CI to keep.
"""
import base64, contextlib, os, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
from urllib.parse import urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SYNTHLAB_ARTIFACTS", ROOT / "artifacts")) / "browser"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LOCAL = {"127.0.0.1", "localhost"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

JS_PNG = """async (img) => {
  const b = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = ''; for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}"""

def png_bytes(img) -> bytes:
    "The bytes of the PNG an <img> element shows."
    return base64.b64decode(img.evaluate(JS_PNG))

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: pytest.fail(f"the dashboard server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError: pass
        time.sleep(0.5)
    pytest.fail(f"the dashboard server did not answer {url} within {timeout:.0f}s:\n{log.read_text()[-4000:]}")

def _stop(proc: subprocess.Popen) -> None:
    "SIGTERM to the process group we started (voila shuts its kernels down), then SIGKILL for anything left in it."
    if proc.poll() is None:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired: pass
    try: os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    proc.wait(timeout=15)

def _skip_or_fail(reason: str):
    "Skip where the browser stack is missing, except in CI (SYNTHLAB_REQUIRE_BROWSER=1), where that is a failure."
    if os.environ.get("SYNTHLAB_REQUIRE_BROWSER") == "1": pytest.fail(reason + " (SYNTHLAB_REQUIRE_BROWSER=1)")
    pytest.skip(reason)

@pytest.fixture(scope="session")
def dashboards(tmp_path_factory):
    "Start `synthlab dashboard --debug` once; yields (base_url, log_path)."
    for mod in ("voila", "playwright"):
        try: __import__(mod)
        except ImportError: _skip_or_fail(f"`{mod}` is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists(): _skip_or_fail(f"{CHROMIUM} not found: install the Debian package `chromium` (CI does)")
    synthlab = Path(sys.executable).parent / "synthlab"
    if not synthlab.exists(): _skip_or_fail("the `synthlab` console script is not installed (pip install -e '.[dev]')")
    port, log = _free_port(), tmp_path_factory.mktemp("voila") / "voila.log"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    # exactly what `make demo` runs (`synthlab dashboard`), plus --debug so kernel tracebacks reach the page
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(synthlab), "dashboard", f"--port={port}", "--debug"], cwd=ROOT, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/", proc, log)
        assert f"{base}/voila/render/index.ipynb" in log.read_text(), \
            f"`synthlab dashboard` did not print the dashboard URL:\n{log.read_text()[-2000:]}"
        yield base, log
    finally: _stop(proc)

@contextlib.contextmanager
def offline_page(profile: Path, name: str, viewport=(1280, 1000)):
    "An offline headless Chromium page; yields (page, blocked_urls, js_errors); a failure saves `<name>_failure.png`."
    from playwright.sync_api import sync_playwright
    blocked, page_errors = [], []
    def offline(route):
        if urlparse(route.request.url).hostname in LOCAL: route.continue_()
        else: blocked.append(route.request.url); route.abort()
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), headless=True,
                                                    args=CHROME_ARGS, viewport={"width": viewport[0], "height": viewport[1]})
        page = None
        try:
            ctx.route("**/*", offline)
            page = ctx.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            yield page, blocked, page_errors
        except BaseException:
            if page is not None:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{name}_failure.png"), full_page=True)
                print(f"\nfailure screenshot: {ARTIFACTS / f'{name}_failure.png'}")
            raise
        finally: ctx.close()

def assert_no_python_error(page, status_selector: str, page_errors: list, extra=()):
    "A dashboard must never show a Python error: no traceback, no stderr output, no status message, no JS error."
    body = page.locator("body").inner_text()
    for bad in ["Traceback", "There was an error when executing cell", *extra]:
        assert bad not in body, f"the dashboard shows an error:\n{body[:3000]}"
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, body[:3000]
    assert page.locator(status_selector).inner_text().strip() == ""
    assert not page_errors, f"JavaScript errors in the page: {page_errors}"

def assert_log_clean(log: Path):
    assert "Traceback" not in log.read_text(), f"the kernel logged a traceback:\n{log.read_text()[-4000:]}"

def nudge_slider(page, css: str, presses: int):
    "Move an ipywidgets slider with the keyboard, as a user without a mouse would; returns (handle, old, new value)."
    handle = page.locator(f"{css} .noUi-handle")
    v0 = float(handle.get_attribute("aria-valuenow"))
    handle.focus()
    for _ in range(presses): handle.press("ArrowRight")
    page.wait_for_function("([el, v]) => parseFloat(el.getAttribute('aria-valuenow')) > v", arg=[handle.element_handle(), v0])
    return handle, v0, float(handle.get_attribute("aria-valuenow"))
