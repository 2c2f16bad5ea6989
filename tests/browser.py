"""Headless Chromium for tests (Debian `chromium` + `chromium-driver`, driven by Selenium).

No browser download: the binaries come from scripts/install_test_tools.sh (apt). Tests
call `chromium_or_skip()`, which skips with the reason when a piece is missing.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile

import numpy as np
import pytest

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--force-device-scale-factor=1",
    "--allow-file-access-from-files",
]

LOTTIE_WEB = os.path.join(
    os.environ.get("SKETCHMOTION_TOOLS", os.path.expanduser("~/.cache/sketchmotion-test-tools")),
    "node_modules",
    "lottie-web",
    "build",
    "player",
    "lottie.min.js",
)


def _find(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def chromium_or_skip():
    """(chromium, chromedriver) paths, or pytest.skip with what to install."""
    browser = os.environ.get("CHROMIUM") or _find("chromium", "chromium-browser")
    driver = os.environ.get("CHROMEDRIVER") or _find("chromedriver")
    if not browser or not driver:
        pytest.skip("Debian chromium + chromium-driver are not installed; run scripts/install_test_tools.sh")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed; pip install -r requirements-dev.txt")
    return browser, driver


class Page:
    """One headless Chromium tab with a fixed CSS viewport and a 1:1 device pixel ratio."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, path_or_url: str, width: int, height: int):
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": int(width), "height": int(height), "deviceScaleFactor": 1, "mobile": False},
        )
        url = path_or_url if "://" in path_or_url else "file://" + os.path.abspath(path_or_url)
        self.driver.get(url)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args):
        return self.driver.execute_async_script(script, *args)

    def screenshot(self) -> np.ndarray:
        """The viewport as uint8 RGB [H, W, 3]."""
        from PIL import Image

        png = self.driver.get_screenshot_as_png()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def console_errors(self) -> list[str]:
        logs = self.driver.get_log("browser")
        return [e["message"] for e in logs if e.get("level") == "SEVERE"]


@contextlib.contextmanager
def chromium_page():
    """Start headless Chromium (fresh profile), yield a Page, always quit."""
    browser, driver_path = chromium_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sm-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for f in CHROMIUM_FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        drv.set_script_timeout(30)
        yield Page(drv)
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
