"""The admin console in a real headless browser (Debian's Chromium, driven
by Selenium through Debian's chromedriver), in front of an OpenAI-shaped
upstream, with the real OpenAI SDK as the API client:

- /admin sends a browser without a session to the login form; a Basic user
  with the admin right (users' limits file) logs in with its password;
- a key made on the keys page (shown once) works from the OpenAI SDK at
  once, and its request shows on the usage page (table and SVG chart);
- revoked on the keys page, the next SDK request gets 401;
- a form posted without its CSRF token (removed from the page) is refused
  with 403 and writes nothing;
- an address denied on the allowlists page (written to the allowlist file)
  can no longer reach the proxy, from another loopback source address, while
  the admin's own address still can.

One browser session for all of it. With LMGATE_CONSOLE_SCREENSHOTS=DIR the
test saves a PNG of each page there (docs/console/ holds the committed ones).

A second test changes rights, with two browsers (two sessions):
- a key made with the inference scope, given the admin scope on the keys
  page, logs in to the console;
- a user given the admin right on the users page logs in; the right taken
  away, their session ends at their next page;
- an expiry in the past is refused in the page; one a few seconds away
  makes the key's next request fail with 401 once it passes.
"""
import http.client
import os
import pathlib
import shutil

import openai
import pytest

from access_support import Proxy, RecordingUpstream, make_htpasswd, wait_for

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def new_browser():
    """A headless Chromium driven by Selenium; the caller quits it."""
    # Missing browser: a failure that says what to run, not a skip.
    assert CHROMIUM and CHROMEDRIVER, "chromium or chromedriver is missing: run scripts/setup, which installs them"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,820", "--no-first-run", "--disable-extensions"]:
        options.add_argument(argument)
    # Debian's chromedriver, named here so Selenium never looks for a driver to download.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture
def browser():
    driver = new_browser()
    yield driver
    driver.quit()


def waiting_for(browser):
    """`text_of(by, value)` and `after_click(button, by, value, expected)` for `browser`."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # A click does not wait for the next page, so an element found on the old page can be torn down
    # between finding it and reading its text. ChromeDriver reports that as a stale element, or as
    # "unknown error: unhandled inspector error" when the document goes away mid-call (seen in CI),
    # so every WebDriver error during the wait is retried until the page shows what it should or the
    # 30 s run out, which still fails the test.
    transient = (WebDriverException,)

    def text_of(by, value):
        """The text of an element of the page that a click just asked for (a click does not wait for
        the next page: until it has loaded, the element may be the old page's, or none)."""
        found = {}

        def loaded(driver):
            found["text"] = driver.find_element(by, value).text
            return True
        WebDriverWait(browser, 30, ignored_exceptions=transient).until(loaded)
        return found["text"]

    def after_click(button, by, value, expected):
        """Clicks and waits until the element `value` holds `expected`; returns its text."""
        button.click()
        WebDriverWait(browser, 30, ignored_exceptions=transient).until(
            lambda driver: expected in driver.find_element(by, value).text)
        return text_of(by, value)
    return text_of, after_click


def test_console_in_a_browser(bin_dir, tmp_path, browser):
    from selenium.webdriver.common.by import By

    text_of, after_click = waiting_for(browser)

    shots = os.environ.get("LMGATE_CONSOLE_SCREENSHOTS")

    def screenshot(name):
        if shots:
            pathlib.Path(shots).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(pathlib.Path(shots) / f"{name}.png"))

    users = tmp_path / "users"
    password = make_htpasswd(users, ["root", "bob"])["root"]
    limits = tmp_path / "limits"
    limits.write_text("root admin\n")
    keys = tmp_path / "keys"
    allowlist = tmp_path / "allowlist"
    upstream = RecordingUpstream()
    proxy = Proxy(bin_dir, tmp_path, upstream.url, "--htpasswd", str(users), "--keys", str(keys),
                  "--set", f"auth.user_limits={limits}", "--set", f"access.allowlist_file={allowlist}")
    try:
        # No session: the console's login form.
        browser.get(f"{proxy.url}/admin")
        assert browser.current_url == f"{proxy.url}/admin/login"
        screenshot("login")
        browser.find_element(By.ID, "user").send_keys("root")
        browser.find_element(By.ID, "password").send_keys(password)
        after_click(browser.find_element(By.ID, "login"), By.TAG_NAME, "h1", "Dashboard")
        assert browser.current_url == f"{proxy.url}/admin"
        session = next(cookie for cookie in browser.get_cookies() if cookie["name"] == "lmgate_session")
        assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict" and session["path"] == "/admin"

        # A key made in the console, shown once, used from the OpenAI SDK.
        browser.get(f"{proxy.url}/admin/keys")
        browser.find_element(By.ID, "key-name").send_keys("sdk-key")
        browser.find_element(By.ID, "key-models").send_keys("test")
        secret = after_click(browser.find_element(By.ID, "create"), By.ID, "new-key", "lmg_")
        assert secret.startswith("lmg_") and secret not in keys.read_text()
        client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=secret, max_retries=0)
        reply = client.chat.completions.create(model="test", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "key:sdk-key"  # the upstream echoes the identity the proxy sent
        with pytest.raises(openai.PermissionDeniedError):  # the models limit set in the form
            client.chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])

        # Its usage on the usage page: the table, and the chart of its hours.
        def usage_shown():
            browser.get(f"{proxy.url}/admin/usage?identity=key%3Asdk-key")
            rows = [row.text.split() for row in browser.find_elements(By.CSS_SELECTOR, "#usage tr")]
            return any(row[:1] == ["key:sdk-key"] and int(row[1]) >= 1 for row in rows)
        assert wait_for(usage_shown, timeout=10, interval=0.5), browser.page_source
        bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect[fill='#2563eb']")
        assert len(bars) == 24 and any(float(bar.get_attribute("height")) > 0 for bar in bars)
        screenshot("usage")
        browser.get(f"{proxy.url}/admin")
        assert browser.find_element(By.ID, "models").text.count("test") == 1
        screenshot("dashboard")
        browser.get(f"{proxy.url}/admin/users")
        screenshot("users")

        # Another loopback source address is denied on the allowlists page: refused from then on.
        def status_from(source):
            connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5, source_address=(source, 0))
            try:
                connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {secret}"})
                return connection.getresponse().status
            except (ConnectionError, http.client.HTTPException):
                return "closed"
            finally:
                connection.close()
        assert status_from("127.0.0.2") == 200
        browser.get(f"{proxy.url}/admin/allowlists")
        browser.find_element(By.CSS_SELECTOR, "textarea[name=deny]").send_keys("127.0.0.2\n127.0.0.3")
        after_click(browser.find_element(By.ID, "save-allowlists"), By.ID, "notice", "denies 2 ranges")
        assert allowlist.read_text().splitlines()[1:] == ["deny 127.0.0.2", "deny 127.0.0.3"]
        assert status_from("127.0.0.2") in (403, "closed")
        assert status_from("127.0.0.1") == 200
        screenshot("allowlists")

        # A change posted without its CSRF token (taken out of the page) is refused, and nothing is written.
        browser.get(f"{proxy.url}/admin/keys")
        screenshot("keys")
        browser.execute_script("document.querySelector('#create-key input[name=csrf]').remove()")
        browser.find_element(By.ID, "key-name").send_keys("forged")
        after_click(browser.find_element(By.ID, "create"), By.TAG_NAME, "h1", "CSRF token is missing or wrong")
        assert "forged" not in keys.read_text()

        # Revoked in the console: the next request is refused.
        browser.get(f"{proxy.url}/admin/keys")
        after_click(browser.find_element(By.CSS_SELECTOR, "button.revoke[data-key='sdk-key']"), By.ID, "notice", "revoked")
        with pytest.raises(openai.AuthenticationError) as refused:
            client.chat.completions.create(model="test", messages=[{"role": "user", "content": "hi"}])
        assert refused.value.status_code == 401

        log = proxy.log_text()
        assert "console.action=key_created" in log and "console.action=key_revoked" in log
        assert secret not in log and password not in log
    finally:
        proxy.stop()
        upstream.stop()


def test_console_changes_rights_in_a_browser(bin_dir, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, after_click = waiting_for(browser)
    users = tmp_path / "users"
    passwords = make_htpasswd(users, ["root", "bob"])
    limits = tmp_path / "limits"
    limits.write_text("# USER [admin] LIMITS\nroot admin\n")
    keys = tmp_path / "keys"
    upstream = RecordingUpstream()
    proxy = Proxy(bin_dir, tmp_path, upstream.url, "--htpasswd", str(users), "--keys", str(keys),
                  "--set", f"auth.user_limits={limits}")
    second = None

    def log_in(driver, clicks, user=None, password=None, key=None):
        driver.get(f"{proxy.url}/admin/login")
        if key:
            driver.find_element(By.ID, "key").send_keys(key)
        else:
            driver.find_element(By.ID, "user").send_keys(user)
            driver.find_element(By.ID, "password").send_keys(password)
        clicks(driver.find_element(By.ID, "login"), By.TAG_NAME, "h1", "Dashboard")

    def change_form(selector):
        """A form of the page, its <details> opened so its fields can be used."""
        form = browser.find_element(By.CSS_SELECTOR, selector)
        details = form.find_elements(By.XPATH, "./ancestor::details")
        if details and not details[0].get_attribute("open"):
            details[0].find_element(By.TAG_NAME, "summary").click()
        return form

    try:
        log_in(browser, after_click, "root", passwords["root"])

        # A key made with the inference scope cannot log in until the keys page gives it the admin scope.
        browser.get(f"{proxy.url}/admin/keys")
        browser.find_element(By.ID, "key-name").send_keys("ops")
        secret = after_click(browser.find_element(By.ID, "create"), By.ID, "new-key", "lmg_")
        form = change_form("form.key-scope[data-key='ops']")
        Select(form.find_element(By.NAME, "scope")).select_by_visible_text("admin")
        after_click(form.find_element(By.TAG_NAME, "button"), By.ID, "notice", "now has the admin scope")
        assert keys.read_text().splitlines()[-1].split()[:2] == ["ops", "admin"]
        after_click(browser.find_element(By.ID, "logout"), By.TAG_NAME, "h1", "Log in")
        log_in(browser, after_click, key=secret)
        assert "key:ops" in browser.find_element(By.TAG_NAME, "header").text

        # The key's session gives bob the admin right; bob logs in from a second browser.
        browser.get(f"{proxy.url}/admin/users")
        after_click(browser.find_element(By.CSS_SELECTOR, "form.user-admin[data-user='bob'] button"),
                    By.ID, "notice", "has the admin right")
        assert limits.read_text() == "# USER [admin] LIMITS\nroot admin\nbob admin\n"
        second = new_browser()
        _, second_click = waiting_for(second)
        log_in(second, second_click, "bob", passwords["bob"])
        second.get(f"{proxy.url}/admin/users")
        assert second.current_url == f"{proxy.url}/admin/users"

        # Taken away: bob's next page is the login form.
        browser.get(f"{proxy.url}/admin/users")
        after_click(browser.find_element(By.CSS_SELECTOR, "form.user-admin[data-user='bob'] button"),
                    By.ID, "notice", "no longer has the admin right")
        assert limits.read_text() == "# USER [admin] LIMITS\nroot admin\n"
        second.get(f"{proxy.url}/admin/users")
        assert second.current_url == f"{proxy.url}/admin/login"

        # An expiry in the past is refused in the page and written nowhere.
        client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=secret, max_retries=0)
        assert client.chat.completions.create(model="test", messages=[{"role": "user", "content": "hi"}])
        before = keys.read_text()
        browser.get(f"{proxy.url}/admin/keys")
        form = change_form("form.key-expiry[data-key='ops']")
        form.find_element(By.NAME, "expires").send_keys("2020-01-01")
        assert "future date" in after_click(form.find_element(By.TAG_NAME, "button"), By.ID, "error", "Not changed")
        assert keys.read_text() == before
        # A few seconds away: the key's next request after that is refused.
        form = change_form("form.key-expiry[data-key='ops']")
        form.find_element(By.NAME, "expires").send_keys("3s")
        after_click(form.find_element(By.TAG_NAME, "button"), By.ID, "notice", "now expires at")
        assert "never" not in keys.read_text().splitlines()[-1]

        def refused():
            try:
                client.chat.completions.create(model="test", messages=[{"role": "user", "content": "hi"}])
                return False
            except openai.AuthenticationError as error:
                return error.status_code == 401
        assert wait_for(refused, timeout=10, interval=0.5)
        # The key's own console session ended with it.
        browser.get(f"{proxy.url}/admin/keys")
        assert browser.current_url == f"{proxy.url}/admin/login"

        log = proxy.log_text()
        for action in ["key_scope_set", "user_admin_granted", "user_admin_revoked", "key_expiry_set"]:
            assert f"console.action={action}" in log, action
        assert secret not in log and passwords["bob"] not in log
    finally:
        if second:
            second.quit()
        proxy.stop()
        upstream.stop()
