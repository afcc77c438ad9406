"""The index dashboard in a real browser: `synthlab dashboard` (what `make demo` runs) serves nbs/dashboards/ with
Voila, headless Chromium moves the flow playground's slider, and the picture must change without a Python error
anywhere. The server and the offline page come from tests/browser_support.py.
"""
import re, time
import pytest
from browser_support import ARTIFACTS, LOCAL, PNG_MAGIC, dashboards, offline_page, png_bytes, nudge_slider, assert_no_python_error, assert_log_clean
from urllib.parse import urlparse

pytestmark = pytest.mark.browser

def _wait_setting(page, setting: str, timeout: float = 30_000) -> None:
    "Wait until the kernel has drawn `setting` ('kind amount'): the stats line starts with it once the PNG is sent."
    page.wait_for_function("s => (document.querySelector('.sl-stats .sl-setting') || {}).innerText === s",
                           arg=setting, timeout=timeout)

def test_index_dashboard_flow_playground(dashboards, tmp_path):
    base, log = dashboards
    t0 = time.time()
    with offline_page(tmp_path / "chromium-profile", "dashboard_index", (1280, 900)) as (page, blocked, page_errors):
        page.goto(f"{base}/voila/render/index.ipynb", timeout=90_000)
        img = page.wait_for_selector("img.sl-flow-image[src]", timeout=90_000)
        page.wait_for_function("() => (document.querySelector('.sl-stats') || {}).innerText?.includes('fastest pixel')",
                               timeout=30_000)
        stats = page.locator(".sl-stats")
        src0, png0 = img.get_attribute("src"), png_bytes(img)
        assert png0[:8] == PNG_MAGIC and len(png0) > 5_000, "the flow image is not a rendered PNG"
        for word in ["synthlab dashboards", "AnimeInterp", "PC-AVS", "ForgeryNet", "Flow playground"]:
            assert page.get_by_text(word).first.is_visible(), f"{word!r} is not on the dashboard"
        assert page.locator("a[href='anime.ipynb']").count() == 1, "the anime card does not link its dashboard"

        handle, v0, v1 = nudge_slider(page, ".sl-amount", 5)
        # the kernel redraws once per key press: wait for the numbers of the final value (the stats name the setting)
        _wait_setting(page, f"rotate {v1:g}")
        assert img.get_attribute("src") != src0
        png1 = png_bytes(img)
        assert png1[:8] == PNG_MAGIC and png1 != png0, "moving the slider did not change the flow image"

        # another motion reconfigures the slider (range, value) and redraws once
        page.locator(".sl-kind select").select_option("zoom")
        _wait_setting(page, "zoom 2.3")
        assert float(handle.get_attribute("aria-valuemax")) == 3.0 and float(handle.get_attribute("aria-valuenow")) == 2.3
        holes = float(re.search(r"holes after splatting: ([\d.]+)%", stats.inner_text()).group(1))
        assert holes > 10, f"a 2.3x zoom should tear holes into the splatted image: {stats.inner_text()}"

        assert_no_python_error(page, ".sl-status", page_errors, extra=["could not draw this setting"])
        assert all(urlparse(u).hostname not in LOCAL for u in blocked)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dashboard_index.png"
        page.locator(".sl-flow-playground").scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        page.locator(".sl-flow-playground").screenshot(path=str(ARTIFACTS / "dashboard_index_playground.png"))
        print(f"\nscreenshots: {shot} (+ _playground.png); slider {v0} -> {v1}, zoom holes {holes}%; "
              f"{time.time() - t0:.1f}s in the browser; blocked off-host requests: {len(blocked)}")
    assert_log_clean(log)
