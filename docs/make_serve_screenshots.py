"""Screenshots of the drawing page for the README (headless Chromium).

Starts ``digitrec serve`` on a free loopback port, draws "7", "1" and "4"
with mouse, touch and pen pointer events, waits for the reading, and saves
``docs/serve-page.png`` (desktop), ``docs/serve-phone.png`` (narrow, dark
mode) and ``docs/serve-docs.png`` (the API docs page).

Usage::

    PYTHONPATH=src python docs/make_serve_screenshots.py [--model default]

Needs ``apt-get install -y chromium chromium-driver`` and the dev extra (selenium).
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.support.ui import WebDriverWait

DOCS = Path(__file__).parent
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
# "714": a 7, a 1, and a 4 in two strokes, in fractions of the canvas.
NUMBER = [
    ("mouse", [(0.14, 0.2), (0.3, 0.2), (0.2, 0.82)]),
    ("touch", [(0.48, 0.18), (0.47, 0.84)]),
    ("pen", [(0.74, 0.18), (0.66, 0.58), (0.84, 0.58)]),
    ("pen", [(0.79, 0.36), (0.79, 0.86)]),
]


def start(model: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "digitrec", "serve", "--port", str(port), "--model", model]
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def browser(width: int, height: int, dark: bool = False) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in [*ARGS, f"--window-size={width},{height}"]:
        options.add_argument(arg)
    if dark:
        options.add_argument("--force-dark-mode")
        options.add_argument("--blink-settings=preferredColorScheme=0")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def draw(driver: webdriver.Chrome) -> None:
    left, top, width, height = driver.execute_script(
        "const r = document.getElementById('pad').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];"
    )
    for kind, points in NUMBER:
        actions = ActionBuilder(driver, mouse=PointerInput(kind, kind))
        for i, (fx, fy) in enumerate(points):
            actions.pointer_action.move_to_location(int(left + fx * width), int(top + fy * height))
            if i == 0:
                actions.pointer_action.pointer_down()
        actions.pointer_action.pointer_up()
        actions.perform()
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element("id", "status").text.startswith("Read ")
    )


def save(driver: webdriver.Chrome, name: str) -> None:
    # Palette PNG: a third of the size, no visible loss on a flat UI.
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(DOCS / name, optimize=True)
    print(f"{DOCS / name}: {(DOCS / name).stat().st_size // 1024} KiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    proc, url = start(args.model)
    try:
        for name, size, dark, page in [
            ("serve-page.png", (1200, 760), False, "/"),
            ("serve-phone.png", (500, 1500), True, "/"),
        ]:
            driver = browser(*size, dark=dark)
            try:
                driver.get(url + page)
                time.sleep(0.5)
                draw(driver)
                driver.execute_script("document.activeElement.blur()")
                time.sleep(0.3)
                save(driver, name)
            finally:
                driver.quit()
        driver = browser(1200, 900)
        try:
            driver.get(url + "/docs")
            WebDriverWait(driver, 20).until(lambda d: d.find_elements("css selector", ".op"))
            save(driver, "serve-docs.png")
        finally:
            driver.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
