"""One real-browser test of the dashboard: headless Chromium (Debian's, driven by
playwright) against ``multivector dashboard`` started as a user starts it.

It moves a slider, resets and steps the model, checks that the chart changed, opens the
levers' help, and saves a screenshot to ``test-output/`` (or ``$MULTIVECTOR_TEST_OUTPUT``).
Without a chromium on the PATH the test is skipped, unless ``MULTIVECTOR_REQUIRE_BROWSER=1``
(CI sets it: there it must run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from test_cli import EXE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
OUTPUT = Path(os.environ.get("MULTIVECTOR_TEST_OUTPUT", Path(__file__).parents[1] / "test-output"))

if CHROMIUM is None and os.environ.get("MULTIVECTOR_REQUIRE_BROWSER") != "1":
    pytest.skip("no chromium on the PATH (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [EXE, "dashboard", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    first = process.stdout.readline()
    deadline = time.time() + 180
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.5)
    yield first, f"http://127.0.0.1:{port}"
    os.killpg(process.pid, 15)
    process.wait(timeout=30)


@pytest.mark.slow
def test_a_teacher_moves_a_slider_resets_and_steps(server):
    from playwright.sync_api import sync_playwright

    printed, url = server
    assert url in printed  # the command says where the dashboard is
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1200})
        page.goto(url, timeout=120_000)
        story = page.get_by_text("effective number of vectors is").first
        try:
            story.wait_for(timeout=180_000)
        except Exception:
            page.screenshot(path=str(OUTPUT / "dashboard-failed.png"), full_page=True)
            raise
        assert "2015-01" in story.inner_text()
        chart = page.locator("img").first
        chart.wait_for(timeout=60_000)
        before = chart.get_attribute("src")

        # Drag the balance-strength slider to its low end: officials stop balancing much.
        slider = page.locator(".v-input", has_text="state.balance_strength").locator(".v-slider")
        box = slider.bounding_box()
        page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
        page.get_by_role("button", name="Reset").click()
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
            page.wait_for_timeout(400)
        page.get_by_text("2015-04: the effective number of vectors").wait_for(timeout=60_000)
        after_story = page.get_by_text("effective number of vectors is").first.inner_text()
        page.wait_for_timeout(1000)
        after = page.locator("img").first.get_attribute("src")

        # The lesson card explains the levers, grouped by their role in the schema.
        page.get_by_text("what each lever in the sidebar means").click()
        page.get_by_text("The state's levers").wait_for(timeout=30_000)
        page.get_by_text("state.balance_strength: lambda").wait_for(timeout=30_000)
        page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
        browser.close()
    assert after != before, "the chart did not change"
    # At a balance strength near 0.1 one power takes far more than at 2: the share said
    # in the sentence is the largest share, and it must be large now.
    share = float(after_story.rstrip(".").rsplit(" ", 1)[-1])
    assert share > 0.5, after_story
