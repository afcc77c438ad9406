"""The anime dashboard in a real browser: `synthlab dashboard` serves nbs/dashboards/ with Voila, headless Chromium opens
/voila/render/anime.ipynb, moves the t-slider, and the in-between picture must change without a Python error anywhere.
The server and the offline page come from tests/browser_support.py (screenshots show synthetic frames only).
"""
import time
import pytest
from browser_support import ARTIFACTS, PNG_MAGIC, ROOT, dashboards, offline_page, png_bytes, nudge_slider, assert_no_python_error, assert_log_clean

pytestmark = pytest.mark.browser

def _wait_setting_t(page, t: float, timeout: float = 60_000) -> None:
    "Wait until the kernel has drawn time `t`: the stats line's setting ends with 't 0.xx' once the PNG is sent."
    page.wait_for_function("s => ((document.querySelector('.sl-anime-stats .sl-anime-setting') || {}).innerText || '').endsWith(s)",
                           arg=f"t {t:.2f}", timeout=timeout)

def test_anime_dashboard_t_slider(dashboards, tmp_path):
    base, log = dashboards
    assert (ROOT / "nbs" / "dashboards" / "anime.ipynb").exists()
    t0 = time.time()
    with offline_page(tmp_path / "chromium-profile", "dashboard_anime") as (page, blocked, page_errors):
        page.goto(f"{base}/voila/render/anime.ipynb", timeout=120_000)
        img = page.wait_for_selector("img.sl-anime-result[src]", timeout=120_000)
        _wait_setting_t(page, 0.5)
        for cls in ("sl-anime-segments", "sl-anime-flows"):
            png = png_bytes(page.locator(f"img.{cls}").element_handle())
            assert png[:8] == PNG_MAGIC and len(png) > 5_000, f"{cls} is not a rendered PNG"
        src0, png0 = img.get_attribute("src"), png_bytes(img)
        assert png0[:8] == PNG_MAGIC and len(png0) > 5_000, "the result image is not a rendered PNG"
        for word in ["Segment-Guided Matching", "Segments and their matches", "guide, refined, truth"]:
            assert page.get_by_text(word).first.is_visible(), f"{word!r} is not on the dashboard"
        assert "PSNR vs truth" in page.locator(".sl-anime-stats").inner_text()

        handle, v0, v1 = nudge_slider(page, ".sl-anime-t", 4)
        assert v1 > v0
        _wait_setting_t(page, v1)                     # the kernel redraws per key press: wait for the final value
        assert img.get_attribute("src") != src0
        png1 = png_bytes(img)
        assert png1[:8] == PNG_MAGIC and png1 != png0, "moving the t-slider did not change the result image"

        assert_no_python_error(page, ".sl-anime-status", page_errors, extra=["could not draw this"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator(".sl-anime-explorer").screenshot(path=str(ARTIFACTS / "dashboard_anime.png"))
        print(f"\nscreenshot: {ARTIFACTS / 'dashboard_anime.png'}; t {v0} -> {v1}; {time.time() - t0:.1f}s in the browser; "
              f"blocked off-host requests: {len(blocked)}")
    assert_log_clean(log)
