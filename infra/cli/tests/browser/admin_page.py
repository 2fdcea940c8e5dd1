#!/usr/bin/env python3
"""Browser tests of the admin page (/ui/), in headless Chromium through chromedriver.
Run by `infra/cli/tests/admin_page.rs` (so by `cargo test` and `infra/test.sh`).

Starts `crmsync dev` (in-memory state, the built-in Salesforce emulator, both on free
127.0.0.1 ports), then drives the page as an admin would: signs in with the API key,
connects through the emulator's login page, runs a test sync, turns the sync on, edits a
mapping (a refused config first, with its problems next to their fields), re-pushes a
failed event after fixing the config, maps an unmapped owner, meets a version conflict,
reads the runs and the quota, checks keyboard use and the phone layout, opens a signed
session link, and disconnects. Every screen is saved as a PNG under
`target/ui-screenshots/`.

The failing event is refused by crmsync's own pre-flight against describe: the emulator
describes Lead.Status as a restricted picklist (`restrictedPicklist: true`, what a real
org's describe says for a picklist restricted to its value set), so "Hot" is refused with
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST before any write. The test is about the page's
fix-then-re-push flow, which is the same for any refusal a mapping change cures.

Bounded: every wait has a timeout and the whole run stops after RUN_SECONDS; the dev
server and the browser are stopped on every exit path.

Usage: admin_page.py --crmsync target/debug/crmsync [--screenshots DIR]
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

RUN_SECONDS = 420
WAIT_SECONDS = 20
EMULATOR_USER = "admin@demo.example"
EMULATOR_PASSWORD = "demo"


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


class Dev:
    """`crmsync dev` as a child process in its own process group."""

    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "dev", "--in-memory", "--port", "0", "--emulator-port", "0",
             "--poll-every", "2s", "--sweep-every", "30m"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True, env={**os.environ, "RUST_LOG": "warn"},
        )
        banner = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise Failed("crmsync dev exited before printing its banner")
            banner += line
            if "webhook secret" in line:
                break
        def find(pattern):
            m = re.search(pattern, banner)
            check(m, f"banner lacks {pattern!r}:\n{banner}")
            return m.group(1)
        self.api = find(r"API\s+(http://127\.0\.0\.1:\d+)")
        self.emulator = find(r"Salesforce\s+(http://127\.0\.0\.1:\d+)")
        self.key = find(r"API key\s+(\S+)")
        self.webhook_secret = find(r"webhook secret\s+(\S+)")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def call(self, method, path, body=None, auth=None, base=None):
        """(status, JSON body) of one API call; auth defaults to the API key."""
        headers = {"authorization": auth or f"Bearer {self.key}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        req = urllib.request.Request((base or self.api) + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)

    def send_event(self, event):
        body = json.dumps({"connection": "production", "events": [event]})
        t = int(time.time())
        sig = hmac.new(self.webhook_secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.api + "/events", data=body.encode(), method="POST", headers={
            "content-type": "application/json", "x-crmsync-tenant": "demo",
            "x-crmsync-signature": f"t={t},v1={sig}"})
        with urllib.request.urlopen(req, timeout=15) as r:
            check(r.status in (200, 202), f"ingest answered {r.status}")

    def wait_for(self, what, probe, seconds=WAIT_SECONDS):
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(0.5)
        raise Failed(f"timed out waiting for {what}")


class Page:
    def __init__(self, dev, shots):
        self.dev = dev
        self.shots = shots
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                    "--force-device-scale-factor=1", "--lang=en-GB"):
            opts.add_argument(arg)
        # The Debian driver, never a downloaded one.
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(15)
        self.wait = WebDriverWait(self.driver, WAIT_SECONDS)

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass

    def open(self, path):
        self.driver.get(self.dev.api + path)

    def shot(self, name, keep_toasts=False):
        os.makedirs(self.shots, exist_ok=True)
        if not keep_toasts:
            self.driver.execute_script("document.getElementById('toast').replaceChildren()")
        # The whole page, not just the viewport: size the window to the document first.
        d = self.driver
        w, h = d.get_window_size()["width"], d.get_window_size()["height"]
        full = d.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        d.set_window_size(w, min(max(h, full + 120), 4000))
        time.sleep(0.2)
        d.save_screenshot(os.path.join(self.shots, f"{name}.png"))
        d.set_window_size(w, h)

    def css(self, selector):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def visible(self, selector):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def press(self, el):
        """Clicks like a user who scrolled the control to mid-screen (the save bar is sticky)."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()
        return el

    def click(self, selector):
        return self.press(self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector))))

    def text_in(self, selector, text):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def xpath(self, xp):
        return self.wait.until(EC.presence_of_element_located((By.XPATH, xp)))

    def screen(self, name):
        self.driver.execute_script("location.hash = arguments[0]", "#/" + name)
        self.wait.until(lambda d: d.find_element(By.ID, "main").get_attribute("aria-busy") is None)

    def toast(self, text):
        self.text_in("#toast", text)


def steps(dev, page):
    d = page.driver

    def sign_in_with_key():
        page.open("/ui/")
        page.css("#api-key").send_keys(dev.key)
        page.click("#sign-in")
        page.visible("#connect")
        check(d.find_element(By.ID, "tabs").is_displayed(), "the section tabs are shown after sign-in")
        page.shot("01-connect")

    def connect_through_the_login_page():
        # The emulator shows its login form instead of approving on its own.
        status, _ = dev.call("PUT", "/__admin/orgs/demo/settings", {"autoApprove": False}, base=dev.emulator)
        check(status in (200, 204), f"emulator settings answered {status}")
        page.click("#connect")
        page.wait.until(EC.title_contains("Login"))
        check(d.current_url.startswith(dev.emulator), f"on the emulator's login page: {d.current_url}")
        d.find_element(By.NAME, "username").send_keys(EMULATOR_USER)
        d.find_element(By.NAME, "password").send_keys(EMULATOR_PASSWORD)
        d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        page.wait.until(lambda d: d.current_url.startswith(dev.api + "/ui/"))
        page.text_in("main h1", "Demo Company")
        page.text_in("main .badge", "Connected")
        page.toast("Connected to Salesforce")
        check("status=" not in d.current_url, f"the return query is cleared: {d.current_url}")
        page.text_in("main", EMULATOR_USER)
        page.shot("02-connection", keep_toasts=True)

    def sync_switch():
        page.screen("connection")
        switch = page.css("#sync-switch")
        check(switch.get_attribute("aria-checked") == "false", "a new connection's sync starts off")
        switch.click()
        page.wait.until(lambda d: d.find_element(By.ID, "sync-switch").get_attribute("aria-checked") == "true")
        status, body = dev.call("GET", "/v1/connections/production")
        check(status == 200 and body["sync_enabled"] is True, f"the switch turned the sync on: {body}")
        page.toast("The sync is on")

    def test_sync():
        page.screen("test-sync")
        Select(page.css("#test-window")).select_by_visible_text("Any time")
        limit = page.css("#test-limit")
        limit.clear()
        limit.send_keys("25")
        page.click("#run-test-sync")
        result = page.visible("#test-result")
        rows = result.find_elements(By.CSS_SELECTOR, "tbody tr")
        names = [r.find_element(By.TAG_NAME, "th").text for r in rows]
        check("Contact" in names and "Lead" in names, f"result rows per object: {names}")
        contact = next(r for r in rows if r.find_element(By.TAG_NAME, "th").text == "Contact")
        fetched = int(contact.find_elements(By.TAG_NAME, "td")[0].text.replace(",", ""))
        check(0 < fetched <= 25, f"Contact fetched within the limit: {fetched}")
        created = int(contact.find_elements(By.TAG_NAME, "td")[1].text.replace(",", ""))
        check(created == fetched, f"a first test sync creates what it reads: {created} of {fetched}")
        check("completed" in result.text, f"the test sync completed: {result.text[:200]}")
        page.shot("03-test-sync")

    def failed_event_is_reported():
        dev.send_event({
            "event_id": "ui-ev-hot", "kind": "create", "app_object": "contact", "app_id": "ui-ada",
            "occurred_at": "2026-12-01T08:00:00Z",
            "fields": {"first_name": "Ada", "last_name": "Byron", "phone": "+44 20 7946 0999",
                       "email": "ada.byron@engines.example", "company_name": "Analytical Engines",
                       "lead_status": "Hot"}})
        dev.wait_for("the event's error report", lambda: dev.call(
            "GET", "/v1/connections/production/reports/ui-ev-hot")[1].get("status") == "error")
        page.screen("reports")
        row = page.css('tr[data-event="ui-ev-hot"]')
        check("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in row.text and "Hot" in row.text, f"the row shows the reason: {row.text}")
        page.press(row.find_element(By.XPATH, ".//button[normalize-space()='Details']"))
        page.text_in("tr.detail pre", '"lead_status": "Hot"')
        page.shot("04-reports")

    def refused_config_shows_problems():
        page.screen("mappings")
        page.xpath("//div[@class='subtabs']/button[normalize-space()='Lead']").click()
        title = page.css('input[data-path="objects.Lead.fields[4].salesforce_field"]')
        check(title.get_attribute("value") == "Title", "the fifth Lead mapping is Title")
        title.clear()
        title.send_keys("Job Title")
        row = d.find_element(By.CSS_SELECTOR, 'tr[data-row="objects.Lead.fields[4]"]')
        for box in row.find_elements(By.CSS_SELECTOR, "[data-path='objects.Lead.fields[4].triggers'] input:checked"):
            page.press(box)
        page.click("#save-config")
        page.text_in("#save-result", "was not saved")
        bad = page.css('input[data-path="objects.Lead.fields[4].salesforce_field"]')
        check(bad.get_attribute("aria-invalid") == "true", "the Salesforce field is marked invalid")
        near = d.find_element(By.ID, bad.get_attribute("aria-describedby")).text
        check("not a valid Salesforce API name" in near, f"the problem sits next to the field: {near!r}")
        triggers = page.css('[data-path="objects.Lead.fields[4].triggers"]')
        near = d.find_element(By.ID, triggers.get_attribute("aria-describedby")).text
        check("at least one trigger" in near, f"the triggers problem sits next to them: {near!r}")
        status, cfg = dev.call("GET", "/v1/connections/production/config")
        check(cfg["version"] == 1, f"nothing was saved: version {cfg['version']}")
        page.shot("05-mappings-refused")

    def fixed_config_saves():
        title = page.css('input[data-path="objects.Lead.fields[4].salesforce_field"]')
        title.clear()
        title.send_keys("Title")
        page.press(d.find_element(By.CSS_SELECTOR, "[data-path='objects.Lead.fields[4].triggers'] input[value=create]"))
        # The failed event's cause: the app's lead status is not a Salesforce Status value,
        # so the field becomes Salesforce → app only.
        rule = Select(page.css('select[data-path="objects.Lead.fields[9].rule"]'))
        check(rule.first_selected_option.text == "Two-way", "lead_status starts two-way")
        rule.select_by_value("salesforce_unless_blank")
        Select(page.css('select[data-path="frequency"]')).select_by_value("every_5_minutes")
        page.click("#save-config")
        page.toast("version 2")
        status, cfg = dev.call("GET", "/v1/connections/production/config")
        lead = cfg["config"]["objects"]["Lead"]["fields"]
        check(cfg["version"] == 2 and lead[9]["rule"] == "salesforce_unless_blank" and lead[4]["salesforce_field"] == "Title",
              f"the edit is saved: {lead[4]}, {lead[9]}")
        check(cfg["config"]["frequency"] == "every_5_minutes", f"the frequency is saved: {cfg['config']['frequency']}")
        check(not d.find_elements(By.CSS_SELECTOR, "#mappings-root [aria-invalid=true]"), "no field is marked invalid after saving")
        page.css("#picklists td")
        page.shot("06-mappings")

    def owner_mapping():
        page.screen("mappings")
        unmapped = page.css("#unmapped-owners")
        email = "olivia.garcia@demo.example"
        check(email in unmapped.text, f"the test sync's unmapped owners are listed: {unmapped.text[:300]}")
        page.press(unmapped.find_element(By.CSS_SELECTOR, f'button[aria-label="Map {email}"]'))
        field = page.css(f'input[aria-label="App user id for {email}"]')
        field.send_keys("app-user-olivia")
        page.click("#save-config")
        page.toast("version 3")
        _, cfg = dev.call("GET", "/v1/connections/production/config")
        check(cfg["config"]["owners"]["app_users"].get(email) == "app-user-olivia", f"owner saved: {cfg['config']['owners']}")
        check(not d.find_elements(By.CSS_SELECTOR, f'button[aria-label="Map {email}"]'),
              "a mapped owner leaves the unmapped list")

    def stale_version_is_refused():
        # Someone else saves while the page holds version 3.
        page.screen("mappings")
        _, cfg = dev.call("GET", "/v1/connections/production/config")
        status, body = dev.call("PUT", "/v1/connections/production/config",
                                {"expected_version": cfg["version"], "config": cfg["config"]})
        check(status == 200, f"the other save: {status} {body}")
        page.press(page.xpath("//div[@class='subtabs']/button[normalize-space()='Contact']"))
        title = page.css('input[data-path="objects.Contact.fields[4].salesforce_field"]')
        title.clear()
        title.send_keys("Title")
        page.click("#save-config")
        msg = page.text_in("#save-result", "reload and retry").text
        check("changed since version 3" in msg, f"the conflict is a sentence: {msg!r}")
        _, after = dev.call("GET", "/v1/connections/production/config")
        check(after["version"] == cfg["version"] + 1, f"the page did not overwrite it: version {after['version']}")

    def repush_after_the_fix():
        page.screen("reports")
        row = page.css('tr[data-event="ui-ev-hot"]')
        page.press(row.find_element(By.XPATH, ".//button[normalize-space()='Details']"))
        page.click("tr.detail button.repush")
        page.toast("Re-push queued")
        report = dev.wait_for("the re-pushed event to succeed", lambda: (lambda r: r if r.get("status") == "success" else None)(
            dev.call("GET", "/v1/connections/production/reports/ui-ev-hot")[1]))
        check(report["sf_id"], f"the re-push created the record: {report}")
        Select(page.css("#report-status")).select_by_value("success")
        Select(page.css("#report-object")).select_by_value("Lead")
        # The last hour, in the browser's local time (datetime-local has no zone).
        since = d.execute_script(
            "const t = new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3);"
            "return t.toISOString().slice(0, 16);")
        d.execute_script("arguments[0].value = arguments[1]", page.css("#report-from"), since)
        page.click("#report-apply")
        # The error listing is replaced by the success listing: wait for the new row.
        page.text_in('tr[data-event="ui-ev-hot"] .badge', "success")

    def runs_and_chart():
        dev.wait_for("a poll run", lambda: dev.call("GET", "/v1/connections/production/runs?limit=5")[1]["runs"])
        page.screen("runs")
        charts = d.find_elements(By.CSS_SELECTOR, "main svg.chart")
        check(len(charts) == 2, f"two charts: {len(charts)}")
        check(d.find_elements(By.CSS_SELECTOR, "main svg.chart rect.bar"), "the charts have bars")
        check("allowance" in charts[1].get_attribute("aria-label"), "the calls chart shows the allowance")
        check(len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) >= 1, "the history lists runs")
        page.shot("07-runs")

    def quota_view():
        page.screen("quota")
        _, q = dev.call("GET", "/v1/connections/production/quota")
        big = page.css("#quota-today .big").text
        shown = int(big.split(" ")[0].replace(",", ""))
        check(q["crmsync_calls_today"] >= shown > 0, f"today's calls on the page ({shown}) as the API counts them ({q})")
        check(f"{q['crmsync_allowance']:,}" in big, f"the allowance is shown: {big!r}")
        check("On track" in page.css("#quota-verdict").text, "the projection verdict is a sentence")
        page.shot("08-quota")

    def keyboard_reaches_the_sections():
        page.open("/ui/#/connection")
        page.css("#sync-switch")
        body = d.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)  # the skip link
        for _ in range(12):
            active = d.switch_to.active_element
            if active.get_attribute("data-screen") == "quota":
                break
            active.send_keys(Keys.TAB)
        active = d.switch_to.active_element
        check(active.get_attribute("data-screen") == "quota", "Tab reaches the Quota section button")
        active.send_keys(Keys.ENTER)
        page.wait.until(lambda d: d.execute_script("return location.hash") == "#/quota")
        page.css("#quota-today")

    def phone_layout():
        d.set_window_size(390, 844)
        try:
            for screen in ("connection", "mappings", "reports"):
                page.screen(screen)
                page.css("main .card")
                overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                check(overflow <= 1, f"{screen}: the page is {overflow}px wider than a phone")
                if screen == "mappings":
                    page.shot("09-phone-mappings")
            page.screen("connection")
            page.css("#sync-switch")
            page.shot("09-phone-connection")
        finally:
            d.set_window_size(1280, 1000)

    def session_link():
        status, minted = dev.call("POST", "/v1/ui-sessions", {"connection": "production", "ttl_seconds": 600})
        check(status == 201 and minted["url"].startswith(dev.api + "/ui#session="), f"minted: {status} {minted}")
        auth = "Session " + minted["token"]
        check(dev.call("GET", "/v1/connections/production", auth=auth)[0] == 200, "a session reads its connection")
        check(dev.call("POST", "/v1/credentials/rotate", auth=auth)[0] == 403, "a session cannot rotate the API key")
        check(dev.call("POST", "/v1/ui-sessions", {}, auth=auth)[0] == 403, "a session cannot mint sessions")
        tampered = minted["token"][:-1] + ("0" if minted["token"][-1] != "0" else "1")
        check(dev.call("GET", "/v1/connections", auth="Session " + tampered)[0] == 401, "a tampered token is refused")
        d.switch_to.new_window("tab")  # a fresh sessionStorage: no key in this tab
        d.get(minted["url"])
        page.text_in("main h1", "Demo Company")
        check("session=" not in d.current_url, f"the token leaves the address bar: {d.current_url}")
        check(not d.find_element(By.ID, "sign-out").is_displayed(), "no key to sign out of")
        page.screen("mappings")
        page.css("#save-config")
        page.shot("10-session-link")

    def disconnect():
        page.screen("connection")
        page.click("#disconnect")
        page.click("#confirm-disconnect")
        page.text_in("main .badge", "Disconnected")
        status, body = dev.call("GET", "/v1/connections/production")
        check(body["status"] == "Disconnected", f"the API agrees: {body['status']}")

    return [
        ("sign in with the API key", sign_in_with_key),
        ("connect through the emulator's login page", connect_through_the_login_page),
        ("a test sync (before the sync is turned on)", test_sync),
        ("the sync switch", sync_switch),
        ("a failed event is reported with its payload", failed_event_is_reported),
        ("a refused config shows each problem next to its field", refused_config_shows_problems),
        ("the fixed config saves with the version check", fixed_config_saves),
        ("the failed event re-pushed after the fix succeeds", repush_after_the_fix),
        ("an unmapped owner gets an app user", owner_mapping),
        ("a save over someone else's is refused with a sentence", stale_version_is_refused),
        ("runs with their charts", runs_and_chart),
        ("the quota view", quota_view),
        ("the keyboard reaches the sections", keyboard_reaches_the_sections),
        ("the phone layout does not overflow", phone_layout),
        ("a signed session link opens the page without the key", session_link),
        ("disconnect", disconnect),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crmsync", required=True, help="the crmsync CLI binary")
    ap.add_argument("--screenshots", default="target/ui-screenshots")
    args = ap.parse_args()

    def timeout(*_):
        raise Failed(f"the browser tests took longer than {RUN_SECONDS} s")
    signal.signal(signal.SIGALRM, timeout)
    signal.alarm(RUN_SECONDS)

    stale = os.path.join(args.screenshots, "failure.png")
    if os.path.exists(stale):
        os.remove(stale)
    dev = page = None
    passed = failed = 0
    try:
        dev = Dev(args.crmsync)
        page = Page(dev, args.screenshots)
        for name, step in steps(dev, page):
            started = time.monotonic()
            try:
                step()
                passed += 1
                print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report and stop: later steps build on this one
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
                # Selenium's own stack trace is addresses only: keep the Python part.
                print("".join(traceback.format_exception(e)).split("Stacktrace:")[0], flush=True)
                try:
                    page.driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
                    logs = page.driver.get_log("browser")
                    for entry in logs[-10:]:
                        print("  browser:", entry.get("message"), flush=True)
                except Exception:
                    pass
                break
    finally:
        signal.alarm(0)
        if page:
            page.quit()
        if dev:
            dev.stop()
    print(f"browser: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
