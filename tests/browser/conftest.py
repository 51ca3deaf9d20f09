"""A real headless browser: Debian's Chromium, driven by Selenium through Debian's
chromedriver (never one Selenium Manager would download)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> list[str]:
    return [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium; its own profile, gone afterwards."""
    if missing := _missing():
        if os.geteuid() == 0:
            # As root, deploy/local/install.sh installs them: their absence is a broken setup.
            pytest.fail(
                f"missing {', '.join(missing)}: run deploy/local/install.sh, which installs "
                "Debian's chromium and chromium-driver packages",
                pytrace=False,
            )
        pytest.skip(
            f"missing {', '.join(missing)}, and deploy/local/install.sh installs them only as "
            "root: sudo apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root (CI), Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # containers' /dev/shm is small
        "--window-size=1400,2000",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    # The page's console, for a failing test to show.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
