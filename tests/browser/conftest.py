"""Headless Chromium (Debian's package) driven by Playwright's sync API against the live server.

One browser per test module, a fresh context (cookies, storage: one anonymous user) per test.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
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
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)")
    # Playwright's sync API keeps an asyncio event loop running in the test thread, so
    # Django refuses ORM calls from that thread (SynchronousOnlyOperation) although
    # nothing here is async: the tests' and fixtures' queries are ordinary blocking
    # calls. Allowed only while a browser is open.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, catalogue):
    """The live server's base URL, with the food catalogue loaded."""
    return live_server.url


@pytest.fixture
def new_context(browser):
    """Open browser contexts (each one a separate anonymous visitor); all are closed after the test."""
    contexts = []

    def open_context(**options):
        context = browser.new_context(**{**DESKTOP, **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def phone_page(new_context):
    return new_context(**PHONE).new_page()
