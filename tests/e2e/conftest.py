"""End-to-end fixtures: Debian's Chromium (bin/ensure-chromium) driven by Playwright's sync API against
pytest-django's live server, which serves the static files too (its StaticFilesHandler)."""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Browser, Page, expect, sync_playwright

from aftersales.accounts.demo import current_code, ensure_demo_device
from tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium misbehaves on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # per action and per assertion: generous for a slow CI machine, still bounded


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run bin/ensure-chromium (make test does) or set CHROMIUM")
    with pytest.MonkeyPatch.context() as env:
        # Playwright's sync API keeps an asyncio loop running in this thread while the browser is open,
        # so Django takes every ORM call made here (factories, assertions) for one made from async code
        # and raises SynchronousOnlyOperation. Those calls are plain blocking code between browser steps,
        # never inside a coroutine, so the guard is lifted for as long as Playwright runs (this module).
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            expect.set_options(timeout=TIMEOUT_MS)
            yield chromium
            chromium.close()


@pytest.fixture(autouse=True)
def _staff_two_factor(settings):
    """Browser journeys log staff in as production does: password, then a TOTP code (log_in types it)."""
    settings.STAFF_TWO_FACTOR = True


def unused_code(device) -> str:
    """A code of `device` it has not accepted yet: django-otp refuses a time step used before (a replay),
    and a journey may log the same staff member in twice within 30 s; the next step is accepted too
    (one step of tolerance), else wait for it."""
    while True:
        device.refresh_from_db()
        now = time.time()
        step_now = int((now - device.t0) // device.step)
        step = max(step_now, device.last_t + 1)
        if step <= step_now + device.tolerance:
            return current_code(device, at=device.t0 + step * device.step)
        time.sleep(device.step - (now - device.t0) % device.step + 0.1)


@pytest.fixture
def screenshots() -> Path:
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser_problems() -> list[str]:
    """What went wrong in the pages behind the test's back: error responses (a stylesheet, script or
    image that did not load), uncaught JavaScript errors and errors on the console (what the
    Content-Security-Policy refused). A journey ends by asserting it is empty."""
    return []


@pytest.fixture
def log_in(browser, live_server, browser_problems):
    """log_in(user, url, language="en", width=1280) -> a page of a fresh browser context (its own cookies)
    that opened `url`, was sent to the login page and logged in there, and is back on `url`.

    `language` is the browser's (Accept-Language, so the login page is already in it); a user whose
    profile names a language sees that one once logged in. `width` 390 is a phone's screen. Staff then
    enter the code of their authenticator (the demo key's device, STAFF_TWO_FACTOR)."""
    contexts = []

    def on_response(response):
        if response.status >= 400:
            browser_problems.append(f"{response.status} {response.request.method} {response.url}")

    def on_console(message):
        # A resource that failed to load is already reported by on_response (the favicon is not a page's).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            browser_problems.append(f"console: {message.text}")

    def log_in(user, url: str, language: str = "en", width: int = 1280) -> Page:
        device = ensure_demo_device(user) if user.is_staff and settings.STAFF_TWO_FACTOR else None
        locale = {"en": "en-US", "zh-hans": "zh-CN"}[language]
        viewport = {"width": width, "height": 900 if width > 600 else 844}
        context = browser.new_context(base_url=live_server.url, locale=locale, viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        context.on("response", on_response)
        context.on("weberror", lambda error: browser_problems.append(f"JavaScript: {error.error}"))
        # Errors the console reports, such as a script or style the Content-Security-Policy refused.
        context.on("console", on_console)
        page = context.new_page()
        page.goto(url)
        # The portal's login form and the dashboard's (Django admin) name their fields alike.
        page.locator('input[name="username"]').fill(user.email)
        page.locator('input[name="password"]').fill(PASSWORD)
        with translation.override(language):
            log_in_button = translation.gettext("Log in")
        page.get_by_role("button", name=log_in_button).click()
        if device is not None:
            # Not yet at `url`: the two-factor page first.
            code = page.locator('input[name="code"]')
            code.fill(unused_code(device))
            code.press("Enter")
        expect(page).to_have_url(live_server.url + url)
        return page

    yield log_in
    for context in contexts:
        context.close()
