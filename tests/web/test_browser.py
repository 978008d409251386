"""`deepvis web` in a real headless browser: Debian's chromium driven by selenium through chromium-driver
(`scripts/bootstrap.sh` installs both as root). The page loads with the token and not without, a key
typed in the page changes the picture, a click on a tile selects that unit, non-ASCII labels show as
they are written."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.web.conftest import LABELS

pytestmark = pytest.mark.slow
DEADLINE_S = 30.0
CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra has it)")
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no chromium or chromedriver on PATH (apt-get install chromium chromium-driver, as root)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(DEADLINE_S)
    yield driver
    driver.quit()


def _wait(predicate, what: str):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def _streaming(driver) -> bool:
    return bool(driver.execute_script("const i = document.getElementById('frame'); return i && i.naturalWidth > 0"))


def test_the_page_loads_with_the_token_and_not_without(browser, live):
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(live.base + "/")
    assert "token" in browser.find_element(By.TAG_NAME, "body").text
    assert not browser.find_elements(By.ID, "frame")
    browser.get(live.url)
    assert browser.current_url == live.base + "/"          # the token went into the cookie
    _wait(lambda: _streaming(browser), "the picture stream")
    _wait(lambda: _text(browser, "status") == live.session.latest_result().status, "the status line")


def test_a_key_typed_in_the_page_changes_the_picture(browser, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(live.url)
    _wait(lambda: _streaming(browser), "the picture stream")
    picture = browser.find_element(By.ID, "frame")
    layer = live.session.state.layer_idx
    _wait(lambda: _text(browser, "status").startswith(f"fwd  {layer}:"), "the status line")
    before = picture.screenshot_as_png
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    _wait(lambda: live.session.state.layer_idx == layer + 1, "the key to reach the session")
    _wait(lambda: picture.screenshot_as_png != before, "the picture to change")
    _wait(lambda: _text(browser, "status").startswith(f"fwd  {layer + 1}:"), "the new status line")
    selected = browser.find_element(By.CSS_SELECTOR, "#layers span.selected").text
    assert selected == live.session.latest_result().layers[layer + 1].pretty
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN, Keys.SHIFT + Keys.ARROW_RIGHT)
    _wait(lambda: live.session.state.selected_unit > 1, "Shift+Right to move several units")
    browser.find_element(By.TAG_NAME, "body").send_keys("h")
    _wait(lambda: "Toggle this help screen" in _text(browser, "help"), "the help as page text")
    browser.find_element(By.TAG_NAME, "body").send_keys("h")
    _wait(lambda: not browser.find_element(By.ID, "help").is_displayed(), "the help to go")


def test_a_click_on_a_tile_selects_that_unit(browser, live):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from deepvis_app.core.app.window_layout import pane_rects
    from deepvis_app.web.frame import CONTROL_H

    browser.get(live.url)
    _wait(lambda: _streaming(browser), "the picture stream")
    result = live.session.latest_result()
    grid = pane_rects(640, 400, lambda _w: CONTROL_H, result.hidden_panes)["layers"]
    target = 2 if live.session.state.selected_unit != 2 else 3
    left, top, width, height = result.tile_rects[target]
    picture = browser.find_element(By.ID, "frame")
    x, y = grid.x + left + width - 4, grid.y + top + height - 4   # near a corner: a wrong map lands elsewhere
    ActionChains(browser).move_to_element_with_offset(picture, x - 320, y - 200).click().perform()
    _wait(lambda: live.session.state.selected_unit == target and live.session.state.in_grid, "the unit clicked")


def test_non_ascii_labels_show_as_written(browser, live):
    from selenium.webdriver.common.by import By

    browser.get(live.url)
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue00c")      # Esc: back to the top-5 labels
    _wait(lambda: live.session.latest_result().aux_mode == "labels", "the labels in the aux pane")
    script = "return Array.from(document.querySelectorAll('#over div div')).map(d => d.textContent)"
    _wait(lambda: browser.execute_script(script) == [line for line, _ in live.session.latest_result().text["aux"]],
          "the page to show the aux pane's lines as the session wrote them")
    shown = browser.execute_script(script)
    names = [line.split("  ", 1)[1] for line in shown]
    assert len(names) == 5 and set(names) <= set(LABELS), shown
    assert all(name.startswith("café Ångström") and name.endswith("猫") for name in names)
