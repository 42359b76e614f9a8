"""A real browser (Debian's headless Chromium, driven by Selenium) signs in with a token and labels
items with the keyboard; a `<script>` in a model output must show as text and never run.

Needs `chromium` and `chromium-driver` (`make install-dev` installs them); skipped without them.
Set RLAIF_SCREENSHOTS=DIR to keep screenshots of the annotation and admin pages."""

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from rlaif.annotate.items import load_items
from rlaif.annotate.store import Settings, Store

webdriver = pytest.importorskip("selenium.webdriver")
uvicorn = pytest.importorskip("uvicorn")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from rlaif.annotate.server import create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver (make install-dev)"
)

XSS = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
PROMPTS = ["What is the capital of France?", "Write a haiku about SQL.", "Is 17 prime?"]
OUTPUTS = [
    ["Paris is the capital of France.", "Lyon. " + XSS],
    ["Rows align in rows,\nJOIN the tables, SELECT all:\nthe query returns.", "SQL is a language."],
    ["Yes: 17 has no divisors other than 1 and itself.", "No, 17 = 3 x 6."],
]


@pytest.fixture
def server(tmp_path):
    rows = [{"prompt": p, "completions": c} for p, c in zip(PROMPTS, OUTPUTS)]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    store, admin = Store.create(tmp_path / "s.db", Settings(overlap_fraction=0.0, gold_rate=0.0))
    store.add_items(load_items(tmp_path / "s.jsonl", "compare"))
    token = store.add_annotator("Ada", {"profession": "editor"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store, token, admin
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def shot(driver, name):
    folder = os.environ.get("RLAIF_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def press(driver, keys):
    webdriver.ActionChains(driver).send_keys(keys).perform()


def visible(driver, css):
    return WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, css).is_displayed())


def test_keyboard_labeling_in_a_real_browser(server, browser):
    base, store, token, admin = server
    wait = WebDriverWait(browser, 10)
    browser.get(base + "/#token=wrong-token")
    visible(browser, "#login")
    wait.until(lambda d: "not accepted" in d.find_element(By.ID, "login-error").text)

    browser.get(base + "/#token=" + token)
    visible(browser, "#work")
    assert browser.execute_script("return location.hash") == ""  # the token left the address bar
    assert browser.find_element(By.ID, "who-name").text == "Ada"
    seen_xss = False
    for step, keys in enumerate(["1", "2", "t"]):
        wait.until(lambda d: d.find_element(By.ID, "progress-text").text.startswith(f"{step} labeled"))
        texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#responses .text")]
        if any("Lyon" in t for t in texts):
            seen_xss = True
            assert any(XSS in t for t in texts)  # shown literally, as text
            assert browser.find_elements(By.CSS_SELECTOR, "#responses script, #responses img") == []
            shot(browser, "annotate.png")
        if step == 0:
            press(browser, "w")  # confidence: fairly sure
            press(browser, "r")  # focus the reason box; typing there does not answer
            press(browser, "short and correct 12")
            assert browser.find_element(By.ID, "rationale").get_attribute("value") == "short and correct 12"
            press(browser, "\ue00c")  # Escape leaves the box
        press(browser, keys)
    visible(browser, "#done")
    assert browser.execute_script("return window.pwned === undefined")
    assert seen_xss

    labels = sorted(store.labels(), key=lambda lab: lab["id"])
    assert [lab["shown"] for lab in labels] == ["1", "2", "tie"]
    assert labels[0]["confidence"] == 2 and labels[0]["rationale"] == "short and correct 12"
    assert labels[1]["confidence"] is None and labels[1]["rationale"] == ""

    browser.get(base + "/admin#token=" + admin)
    visible(browser, "#report")
    wait.until(lambda d: "Ada" in d.find_element(By.ID, "people").text)
    row = browser.find_element(By.ID, "people").text
    assert "profession: editor" in row and "3" in row
    shot(browser, "admin.png")
