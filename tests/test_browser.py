"""The index dashboard in a real browser: `synthlab dashboard` (what `make demo` runs) serves nbs/dashboards/ with Voila, headless Chromium moves the flow
playground's slider, and the picture must change without a Python error anywhere.

Chromium is the Debian package at /usr/bin/chromium, driven through the `playwright` Python package (no browser is
ever downloaded). Every request to a host other than 127.0.0.1/localhost is aborted, so the test is offline by
construction. A screenshot of the page is written to artifacts/browser/ (ignored by git) for CI to keep.
"""
import base64, os, re, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
from urllib.parse import urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "nbs" / "dashboards" / "index.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SYNTHLAB_ARTIFACTS", ROOT / "artifacts")) / "browser"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LOCAL = {"127.0.0.1", "localhost"}

pytestmark = pytest.mark.browser

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: pytest.fail(f"voila exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError: pass
        time.sleep(0.5)
    pytest.fail(f"voila did not answer {url} within {timeout:.0f}s:\n{log.read_text()[-4000:]}")

def _stop(proc: subprocess.Popen) -> None:
    "Stop voila and its kernel: SIGTERM to the process group we started (voila shuts its kernels down), then SIGKILL."
    if proc.poll() is None:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired: pass
    try: os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group (a kernel that ignored SIGTERM)
    except ProcessLookupError: pass
    proc.wait(timeout=15)

@pytest.fixture
def voila_url(tmp_path):
    for mod in ("voila", "playwright"):
        pytest.importorskip(mod, reason=f"`{mod}` is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists(): pytest.skip(f"{CHROMIUM} not found: install the Debian package `chromium` (CI does)")
    port, log = _free_port(), tmp_path / "voila.log"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    # exactly what `make demo` runs (`synthlab dashboard`), plus --debug so kernel tracebacks reach the page
    synthlab = Path(sys.executable).parent / "synthlab"
    if not synthlab.exists(): pytest.skip("the `synthlab` console script is not installed (pip install -e '.[dev]')")
    cmd = [str(synthlab), "dashboard", f"--port={port}", "--debug"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc, log)
        url = f"http://127.0.0.1:{port}/voila/render/index.ipynb"
        assert url in log.read_text(), f"`synthlab dashboard` did not print the dashboard URL:\n{log.read_text()[-2000:]}"
        yield url, log
    finally: _stop(proc)

def _wait_setting(page, setting: str, timeout: float = 30_000) -> None:
    "Wait until the kernel has drawn `setting` ('kind amount'): the stats line starts with it once the PNG is sent."
    page.wait_for_function("s => (document.querySelector('.sl-stats .sl-setting') || {}).innerText === s",
                           arg=setting, timeout=timeout)

JS_PNG = """async (img) => {
  const b = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = ''; for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}"""

def test_index_dashboard_flow_playground(voila_url, tmp_path):
    from playwright.sync_api import sync_playwright
    url, log = voila_url
    blocked, page_errors = [], []
    def offline(route):
        if urlparse(route.request.url).hostname in LOCAL: route.continue_()
        else: blocked.append(route.request.url); route.abort()
    t0 = time.time()
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
                                                    headless=True, args=CHROME_ARGS, viewport={"width": 1280, "height": 900})
        try:
            ctx.route("**/*", offline)
            page = ctx.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(url, timeout=90_000)
            img = page.wait_for_selector("img.sl-flow-image[src]", timeout=90_000)
            page.wait_for_function("() => (document.querySelector('.sl-stats') || {}).innerText?.includes('fastest pixel')",
                                   timeout=30_000)
            stats = page.locator(".sl-stats")
            src0, png0 = img.get_attribute("src"), base64.b64decode(img.evaluate(JS_PNG))
            assert png0[:8] == b"\x89PNG\r\n\x1a\n" and len(png0) > 5_000, "the flow image is not a rendered PNG"
            for word in ["synthlab dashboards", "AnimeInterp", "PC-AVS", "ForgeryNet", "Flow playground"]:
                assert page.get_by_text(word).first.is_visible(), f"{word!r} is not on the dashboard"

            # move the slider with the keyboard, the way a user without a mouse would
            handle = page.locator(".sl-amount .noUi-handle")
            v0 = float(handle.get_attribute("aria-valuenow"))
            handle.focus()
            for _ in range(5): handle.press("ArrowRight")
            page.wait_for_function("([el, v]) => parseFloat(el.getAttribute('aria-valuenow')) > v", arg=[handle.element_handle(), v0])
            v1 = float(handle.get_attribute("aria-valuenow"))
            # the kernel redraws once per key press: wait for the numbers of the final value (the stats name the setting)
            _wait_setting(page, f"rotate {v1:g}")
            assert img.get_attribute("src") != src0
            png1 = base64.b64decode(img.evaluate(JS_PNG))
            assert png1[:8] == b"\x89PNG\r\n\x1a\n" and png1 != png0, "moving the slider did not change the flow image"

            # another motion reconfigures the slider (range, value) and redraws once
            page.locator(".sl-kind select").select_option("zoom")
            _wait_setting(page, "zoom 2.3")
            assert float(handle.get_attribute("aria-valuemax")) == 3.0 and float(handle.get_attribute("aria-valuenow")) == 2.3
            holes = float(re.search(r"holes after splatting: ([\d.]+)%", stats.inner_text()).group(1))
            assert holes > 10, f"a 2.3x zoom should tear holes into the splatted image: {stats.inner_text()}"

            # a dashboard must never show a Python error: no traceback, no stderr output, no status message
            body = page.locator("body").inner_text()
            for bad in ["Traceback", "There was an error when executing cell", "could not draw this setting"]:
                assert bad not in body, f"the dashboard shows an error:\n{body[:3000]}"
            assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, body[:3000]
            assert page.locator(".sl-status").inner_text().strip() == ""
            assert not page_errors, f"JavaScript errors in the page: {page_errors}"
            assert all(urlparse(u).hostname not in LOCAL for u in blocked)

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "dashboard_index.png"
            page.locator(".sl-flow-playground").scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            page.locator(".sl-flow-playground").screenshot(path=str(ARTIFACTS / "dashboard_index_playground.png"))
            print(f"\nscreenshots: {shot} (+ _playground.png); slider {v0} -> {v1}, zoom holes {holes}%; "
                  f"{time.time() - t0:.1f}s in the browser; blocked off-host requests: {len(blocked)}")
        except BaseException:
            if "page" in locals():  # keep what the browser saw, for the CI artifacts
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard_index_failure.png"))
                print(f"\nfailure screenshot: {ARTIFACTS / 'dashboard_index_failure.png'}")
            raise
        finally: ctx.close()
    assert "Traceback" not in log.read_text(), f"the kernel logged a traceback:\n{log.read_text()[-4000:]}"
