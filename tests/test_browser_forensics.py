"""The forensics dashboard in a real browser: `synthlab dashboard` serves nbs/dashboards/ with Voila, headless Chromium
opens /voila/render/forensics.ipynb, switches the attribution method, and the picture must change without a Python
error anywhere. The server and the offline page come from tests/browser_support.py (screenshots show synthetic faces only).
"""
import time
import pytest
from browser_support import ARTIFACTS, PNG_MAGIC, ROOT, dashboards, offline_page, png_bytes, assert_no_python_error, assert_log_clean

pytestmark = pytest.mark.browser

STATUSES = (".sl-forensics-status",)

def _wait_setting(page, text: str, timeout: float = 60_000) -> None:
    "Wait until the kernel has drawn `text`: the stats line's setting ends with the method name once the PNG is sent."
    page.wait_for_function("s => ((document.querySelector('.sl-forensics-stats .sl-forensics-setting') || {}).innerText || '').endsWith(s)",
                           arg=text, timeout=timeout)

def test_forensics_dashboard_method(dashboards, tmp_path):
    base, log = dashboards
    assert (ROOT / "nbs" / "dashboards" / "forensics.ipynb").exists()
    t0 = time.time()
    with offline_page(tmp_path / "chromium-profile", "dashboard_forensics", (1280, 1000)) as (page, blocked, page_errors):
        page.goto(f"{base}/voila/render/forensics.ipynb", timeout=120_000)
        img = page.wait_for_selector("img.sl-forensics-image[src]", timeout=120_000)
        t_loaded = time.time() - t0
        _wait_setting(page, "Grad-CAM")
        png0 = png_bytes(img)
        assert png0[:8] == PNG_MAGIC and len(png0) > 5_000, "the saliency figure is not a rendered PNG"
        for word in ["where does the detector look?", "What to look for"]:
            assert page.get_by_text(word).first.is_visible(), f"{word!r} is not on the dashboard"
        assert "detector:" in page.locator(".sl-forensics-info").inner_text()
        stats = page.locator(".sl-forensics-stats").inner_text()
        assert "P(fake)" in stats and "inside the true mask" in stats, stats
        assert page.locator("table.sl-forensics-timing-table").count() == 1, "the timings table is missing"
        assert page.locator(".sl-forensics-upload").count() == 1, "the upload button is missing"
        src0 = img.get_attribute("src")

        page.locator(".sl-forensics-method select").select_option(label="Saliency")
        _wait_setting(page, "Saliency")
        assert img.get_attribute("src") != src0
        png1 = png_bytes(img)
        assert png1[:8] == PNG_MAGIC and png1 != png0, "switching the method did not change the picture"
        assert "Saliency" in page.locator("table.sl-forensics-timing-table").inner_text()

        for status in STATUSES: assert_no_python_error(page, status, page_errors, extra=["could not draw this"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_forensics.png"))
        page.locator(".sl-forensics-explorer").screenshot(path=str(ARTIFACTS / "dashboard_forensics_explorer.png"))
        print(f"\nscreenshots: {ARTIFACTS}/dashboard_forensics*.png; widgets drawn {t_loaded:.1f}s after opening the page; "
              f"{time.time() - t0:.1f}s in the browser; blocked off-host requests: {len(blocked)}")
    assert_log_clean(log)
