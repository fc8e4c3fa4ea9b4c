"""End to end in headless Chromium: draw on the page's canvas, read the answer.

Starts the real service (default model, real reader) on a free loopback port
in a thread, drives Debian's chromium through chromedriver (Selenium) and
draws with W3C pointer actions (mouse, pen and touch), the keyboard, and a
file upload. Needs ``apt-get install -y chromium chromium-driver``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from form_helpers import form_image

# Both are needed: chromium without chromedriver (or the reverse) cannot be driven.
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
_MISSING = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not p]

pytestmark = [
    pytest.mark.skipif(
        bool(_MISSING),
        reason=f"{' and '.join(_MISSING)} not on PATH "
        "(Debian: apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.slow,
]

BROWSER_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
]


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    from digitrec.serve import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in BROWSER_ARGS:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server_url):
    browser.get(server_url + "/")
    wait_for(browser, lambda d: "loading" not in d.find_element("id", "model").text)
    return browser


def wait_for(driver, condition, timeout: float = 20.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def draw(driver, strokes, kind: str = "mouse") -> None:
    """Draw polylines given in fractions of the canvas with one pointer type."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    left, top, width, height = driver.execute_script(
        "const r = document.getElementById('pad').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];"
    )
    for points in strokes:
        actions = ActionBuilder(driver, mouse=PointerInput(kind, f"{kind}-pointer"))
        pointer = actions.pointer_action
        for i, (fx, fy) in enumerate(points):
            pointer.move_to_location(int(left + fx * width), int(top + fy * height))
            if i == 0:
                pointer.pointer_down()
        pointer.pointer_up()
        actions.perform()


def result(driver) -> str:
    """Wait for a reading and return the number shown."""
    wait_for(driver, lambda d: d.find_element("id", "status").text.startswith(("Read ", "No ")))
    return driver.find_element("id", "result-text").text


SEVEN = [[(0.38, 0.18), (0.62, 0.18), (0.47, 0.85)]]


@pytest.mark.parametrize("kind", ["mouse", "pen", "touch"])
def test_draw_a_seven_and_read_it_off_the_page(page, kind: str) -> None:
    draw(page, SEVEN, kind)
    assert result(page) == "7"
    cards = page.find_elements("css selector", "#digits li.digit")
    assert len(cards) == 1 and cards[0].get_attribute("data-digit") == "7"
    # Its confidence and its top 3 are shown; a drawing shows no page view.
    assert not page.find_element("id", "pages").is_displayed()
    assert cards[0].find_element("css selector", ".conf").text.endswith("% sure")
    assert len(cards[0].find_elements("css selector", ".top3 li")) == 3


def test_draw_with_the_keyboard_only(page) -> None:
    from selenium.webdriver.common.keys import Keys

    body = page.find_element("tag name", "body")
    # Tab from the top of the page to the pad, the way a keyboard user gets there.
    for _ in range(10):
        body = page.switch_to.active_element
        if body.get_attribute("id") == "pad":
            break
        body.send_keys(Keys.TAB)
    pad = page.switch_to.active_element
    assert pad.get_attribute("id") == "pad"
    # A vertical stroke: pen to the top, down, draw to the bottom, lift, read.
    pad.send_keys(*([Keys.ARROW_UP] * 9), Keys.SPACE, *([Keys.ARROW_DOWN] * 18), Keys.SPACE)
    pad.send_keys(Keys.ENTER)
    assert result(page) == "1"


def _downloaded_json(page) -> dict:
    """Click "Download JSON" and return what the browser would save."""
    import json

    page.execute_script(
        "window.__saved = null; URL.createObjectURL = (b) => { window.__saved = b; return '#'; };"
    )
    page.find_element("id", "download").click()
    text = page.execute_async_script(
        "const done = arguments[arguments.length - 1]; window.__saved.text().then(done);"
    )
    return json.loads(text)


def test_upload_a_photo_correct_a_reading_and_download_it(page, tmp_path) -> None:
    from serve_helpers import seven_png

    photo = tmp_path / "seven.png"
    photo.write_bytes(seven_png(640, 480))
    page.find_element("id", "file").send_keys(str(photo))
    assert result(page) == "7"
    # The photo, with the line's box and its reading drawn on it.
    view = page.find_element("css selector", "#pages .page-view")
    assert view.find_element("tag name", "img").is_displayed()
    (box,) = view.find_elements("css selector", ".boxes .box")
    assert box.is_displayed() and box.size["width"] > 10 and box.size["height"] > 10
    assert box.find_element("css selector", ".label").text == "7"
    # Correct the reading: the label, the number and the download follow.
    line = page.find_element("css selector", "#pages input.line-text")
    assert line.get_attribute("value") == "7"
    line.clear()
    line.send_keys("1")
    assert box.find_element("css selector", ".label").text == "1"
    assert page.find_element("id", "result-text").text == "1"
    saved = _downloaded_json(page)
    assert saved["text"] == "1" and saved["filename"] == "seven.png"
    (ln,) = saved["pages"][0]["lines"]
    assert (ln["text"], ln["read"], ln["corrected"]) == ("1", "7", True)
    assert "image" not in saved["pages"][0]


def test_upload_a_pdf_shows_every_page(page, tmp_path) -> None:
    import io

    import numpy as np
    from PIL import Image

    from pdf_helpers import pdf_of
    from serve_helpers import seven_png

    seven = np.asarray(Image.open(io.BytesIO(seven_png(300, 300))))
    doc = tmp_path / "sevens.pdf"
    doc.write_bytes(pdf_of([seven, seven]))
    page.find_element("id", "file").send_keys(str(doc))
    assert result(page).split() == ["7", "7"]  # one line on each page
    figures = page.find_elements("css selector", "#pages figure.page")
    assert [f.get_attribute("data-page") for f in figures] == ["1", "2"]
    for f in figures:
        assert f.find_element("css selector", "input.line-text").get_attribute("value") == "7"


def test_upload_a_bad_file(page, tmp_path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    page.find_element("id", "file").send_keys(str(bad))
    alert = wait_for(
        page,
        lambda d: (
            d.find_element("id", "error") if d.find_element("id", "error").is_displayed() else False
        ),
    )
    assert "notes.png" in alert.text and alert.get_attribute("role") == "alert"
    # The service's own message, and no broken image in place of the photo.
    assert "expected an image" in alert.text
    assert not page.find_element("id", "pages").is_displayed()


def test_a_form_read_with_the_line_reader(page, tmp_path) -> None:
    """The reader choice: a form's amount keeps its separator, its word line is skipped."""
    from selenium.webdriver.support.ui import Select

    img = form_image()
    img.save(tmp_path / "form.png")
    Select(page.find_element("id", "reader")).select_by_value("combined")
    page.find_element("id", "file").send_keys(str(tmp_path / "form.png"))
    assert result(page) == "12.50"
    (box,) = page.find_elements("css selector", "#pages .page-view .boxes .box")
    assert box.find_element("css selector", ".label").text == "12.50"
