"""The console in a real browser: headless Debian Chromium driven by Selenium through chromedriver
(`tools/ensure-browser.sh` installs both), against the whole stack as `make run` starts it
(tests/e2e's `running_stack`: its own RabbitMQ vhost, data directory and free ports).

Each test gets a new browser with an empty profile and saves a screenshot of its last page under
tests/artifacts/ (gitignored). When the stack's gateway does not serve /console yet, the console is
put in front of it by tests/browser/console_host.py (the same gateway.console code, the API passed
through unchanged).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return "chromium and chromium-driver are not installed (bash tools/ensure-browser.sh)"
    return None


@pytest.fixture(scope="session")
def browser_available():
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)


def new_driver(profile: Path, width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", f"--window-size={width},{height}", "--lang=zh-CN",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture
def driver(browser_available, tmp_path, request):
    """A new headless Chromium with a new, empty profile; its last page saved as a screenshot."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    d = new_driver(profile)
    yield d
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        d.execute_script("window.scrollTo(0, 0)")
        d.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
    finally:
        d.quit()


@pytest.fixture(scope="module")
def console_url(browser_available, running_stack):  # noqa: F811
    """The console's URL: the gateway's own /console, or console_host in front of the gateway."""
    served = requests.get(running_stack.url + "/console", timeout=10)
    if served.status_code == 200 and "<base href=" in served.text:
        yield running_stack.url + "/console/"
        return
    from tests.browser.console_host import serve
    server, url = serve(running_stack.url, running_stack.data_dir)
    yield url + "/console/"
    server.shutdown()


class Console:
    """The console as a person uses it, in one browser."""

    def __init__(self, driver, url: str, stack):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait
        self.d, self.url, self.stack = driver, url, stack
        # pages re-render after each answer: an element found a moment ago may have been replaced
        self.wait = WebDriverWait(driver, 25, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,))

    # -- finding and acting
    def css(self, selector: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def visible(self, selector: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        return self.wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def all(self, selector: str):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def click(self, selector: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        element = self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, selector)))
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()
        return element

    def field(self, form: str, name: str):
        return self.visible(f'form[data-form="{form}"] [data-field="{name}"] [name="{name}"]')

    def type(self, form: str, name: str, text: str):
        element = self.field(form, name)
        element.clear()
        element.send_keys(text)

    def choose(self, form: str, name: str, value: str):
        from selenium.webdriver.support.ui import Select
        Select(self.field(form, name)).select_by_value(value)

    def submit(self, form: str):
        self.click(f'form[data-form="{form}"] button[type="submit"]')

    def field_error(self, form: str, name: str) -> str:
        return self.visible(f'form[data-form="{form}"] [data-field="{name}"] .field-error').text

    def go(self, route: str):
        self.d.get(self.url + route)

    # -- the session
    def sign_in(self, user_id: str, unit: str | None = None):
        """Through the development sign-in page: the demo user's button (a unit's people under its name)."""
        self.go("#/signin")
        self.d.execute_script("sessionStorage.clear()")
        self.d.refresh()
        if unit:
            self.click(f'details[data-unit="{unit}"] summary')
        self.click(f'button.user[data-user="{user_id}"]')
        self.wait.until(lambda d: "#/signin" not in d.current_url)
        self.css("#who .who-name")

    # -- the ticket page
    def open_ticket(self, number: str):
        self.go(f"#/ticket/{number}")
        return self.css(f'.ticket-page .number[data-number="{number}"]')

    def status(self) -> str:
        return self.css(".ticket-head .badge.status").get_attribute("data-status")

    def wait_status(self, status: str):
        self.wait.until(lambda d: self.status() == status, f"the ticket page to show {status}")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.d.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.2)
        path = ARTIFACTS / name
        self.d.save_screenshot(str(path))
        return path

    def console_errors(self) -> list[str]:
        """Errors the page's scripts raised (a refused request is the API's answer, not an error)."""
        return [e["message"] for e in self.d.get_log("browser")
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


@pytest.fixture
def console(driver, console_url, running_stack):  # noqa: F811
    return Console(driver, console_url, running_stack)
