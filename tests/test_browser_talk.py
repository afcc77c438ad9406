"""The talk dashboard in a real browser: `synthlab dashboard` serves nbs/dashboards/ with Voila, headless Chromium opens
/voila/render/talk.ipynb, moves the yaw slider, and the pose picture must change without a Python error anywhere.
The server and the offline page come from tests/browser_support.py (screenshots show synthetic faces only).
"""
import time
import pytest
from browser_support import ARTIFACTS, PNG_MAGIC, ROOT, dashboards, offline_page, png_bytes, nudge_slider, assert_no_python_error, assert_log_clean

pytestmark = pytest.mark.browser

IMAGES = ("sl-talk-swap-image", "sl-talk-pose-image", "sl-talk-probe-image", "sl-talk-speech-image")
STATUSES = (".sl-talk-swap-status", ".sl-talk-pose-status", ".sl-talk-probe-status", ".sl-talk-speech-status")

def _wait_yaw(page, yaw: float, timeout: float = 60_000) -> None:
    "Wait until the kernel has drawn yaw `yaw`: the stats line's setting starts with 'yaw x.x ' once the PNG is sent."
    page.wait_for_function("s => ((document.querySelector('.sl-talk-pose-stats .sl-talk-pose-setting') || {}).innerText || '').startsWith(s)",
                           arg=f"yaw {yaw:.1f} ", timeout=timeout)

def test_talk_dashboard_pose_slider(dashboards, tmp_path):
    base, log = dashboards
    assert (ROOT / "nbs" / "dashboards" / "talk.ipynb").exists()
    t0 = time.time()
    with offline_page(tmp_path / "chromium-profile", "dashboard_talk", (1280, 1000)) as (page, blocked, page_errors):
        page.goto(f"{base}/voila/render/talk.ipynb", timeout=120_000)
        img = page.wait_for_selector("img.sl-talk-pose-image[src]", timeout=120_000)
        page.wait_for_selector("img.sl-talk-speech-image[src]", timeout=120_000)
        t_loaded = time.time() - t0
        _wait_yaw(page, 0.0)
        for cls in IMAGES:
            png = png_bytes(page.locator(f"img.{cls}").element_handle())
            assert png[:8] == PNG_MAGIC and len(png) > 5_000, f"{cls} is not a rendered PNG"
        for word in ["inside PC-AVS", "Swap one code", "Turn the head", "Which code knows what?", "The mouth follows the sound"]:
            assert page.get_by_text(word).first.is_visible(), f"{word!r} is not on the dashboard"
        assert "model:" in page.locator(".sl-talk-model").inner_text()
        assert page.locator("table.sl-talk-probe-scores").count() == 1, "the probe scores table is missing"
        assert page.locator("audio.sl-talk-speech-audio").count() == 1, "the speech strip has no audio player"
        src0, png0 = img.get_attribute("src"), png_bytes(img)

        handle, v0, v1 = nudge_slider(page, ".sl-talk-pose-yaw", 5)
        assert v1 > v0
        _wait_yaw(page, v1)                           # the kernel redraws per key press: wait for the final value
        assert img.get_attribute("src") != src0
        png1 = png_bytes(img)
        assert png1[:8] == PNG_MAGIC and png1 != png0, "moving the yaw slider did not change the pose picture"

        for status in STATUSES: assert_no_python_error(page, status, page_errors, extra=["could not draw this"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_talk.png"))                     # the top of the page
        for part in ("swap", "pose", "probe", "speech"):                                 # Voila scrolls inside a div: one shot per widget
            page.locator(f".sl-talk-{part}").screenshot(path=str(ARTIFACTS / f"dashboard_talk_{part}.png"))
        print(f"\nscreenshots: {ARTIFACTS}/dashboard_talk*.png; yaw {v0} -> {v1}; "
              f"widgets drawn {t_loaded:.1f}s after opening the page; {time.time() - t0:.1f}s in the browser; "
              f"blocked off-host requests: {len(blocked)}")
    assert_log_clean(log)
