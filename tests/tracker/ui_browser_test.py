#!/usr/bin/python3
"""End-to-end tests of blobswarm-tracker's web UI in a real browser.

Debian's chromium, headless, driven through chromedriver (WebDriver, python3-selenium), against
the real blobswarm-tracker binary on a loopback port. Torrents are made by the project's
torrentgen; a real libtorrent session (python3-libtorrent) announces with the .torrent the browser
downloaded. Screenshots of the main pages go to --out for a reviewer.

Run: ui_browser_test.py --bin <build>/bin --out <dir> [-v] [unittest args]
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import libtorrent as lt
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ARGS = None
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_COMMENT = "<script>alert(2)</script><b>bold</b>"
ADMIN_TOKEN = "ui-test-admin-token-0123456789"
ALICE_PASSWORD = "alice-password-1"


def wait_until(what, predicate, timeout=20.0, interval=0.1):
    """Polls predicate until it returns something truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Tracker:
    """The blobswarm-tracker binary on 127.0.0.1, port chosen by itself."""

    def __init__(self, work):
        self.work = work
        with open(os.path.join(work, "admin.token"), "w") as f:
            f.write(ADMIN_TOKEN + "\n")
        self.log_path = os.path.join(work, "tracker.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(ARGS.bin, "blobswarm-tracker"), "--listen", "127.0.0.1:0",
             "--db", os.path.join(work, "tracker.db"), "--admin-token-file",
             os.path.join(work, "admin.token"), "--threads", "2", "--announce-interval", "30s",
             "--min-interval", "1s"],
            stdout=self.log, stderr=subprocess.STDOUT)
        port = wait_until("the tracker to listen", lambda: re.search(
            r"listening on 127\.0\.0\.1:(\d+)", open(self.log_path).read()), timeout=20)
        self.port = int(port.group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, token=None, source="127.0.0.1"):
        """One HTTP request (from `source`, another loopback address if wanted)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20,
                                       source_address=(source, 0))
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def api(self, method, path, body=None, expect=(200, 201), **kw):
        status, _, data = self.request(method, path, body, token=ADMIN_TOKEN, **kw)
        assert status in expect, f"{method} {path}: {status} {data[:300]!r}"
        return json.loads(data) if data else None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def torrentgen(*args):
    subprocess.run([os.path.join(ARGS.bin, "torrentgen"), "create", "--quiet", *args], check=True)


def make_browser(download_dir):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync", "--disable-component-update",
              "--disable-default-apps", "--disable-features=Translate,OptimizationHints,MediaRouter"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    o.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                        "download.prompt_for_download": False,
                                        "safebrowsing.enabled": False})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    # Runs before any page script: records every alert() (an executed
    # injection would call it) instead of opening a dialog.
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__alerts = [];
        window.alert = (m) => { window.__alerts.push(String(m)); };
        window.confirm = (m) => { window.__alerts.push('confirm:' + String(m)); return false; };"""})
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_dir})
    return d


class WebUi(unittest.TestCase):
    """One tracker and one browser for the whole run; tests run in name order."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="blobswarm-ui-")
        cls.shots = ARGS.out
        os.makedirs(cls.shots, exist_ok=True)
        cls.tracker = Tracker(cls.tmp)
        cls.downloads = os.path.join(cls.tmp, "downloads")
        os.makedirs(cls.downloads)
        cls.data = os.path.join(cls.tmp, "data")
        os.makedirs(cls.data)
        # The torrent a user uploads: made by torrentgen (hybrid, not private).
        cls.payload = os.path.join(cls.data, "payload.bin")
        with open(cls.payload, "wb") as f:
            f.write(os.urandom(300 * 1024))
        cls.payload_torrent = os.path.join(cls.tmp, "payload.torrent")
        torrentgen(cls.payload, "-o", cls.payload_torrent, "--comment", "a test upload")
        cls.bad_file = os.path.join(cls.tmp, "not-a.torrent")
        with open(cls.bad_file, "wb") as f:
            f.write(b"d4:infoi42e" + os.urandom(64))
        # A blob torrent whose name and comment are markup.
        evil_dir = os.path.join(cls.tmp, "evil")
        os.makedirs(evil_dir)
        evil = os.path.join(evil_dir, XSS_NAME)
        with open(evil, "wb") as f:
            f.write(os.urandom(40 * 1024))
        digest = "sha256:" + hashlib.sha256(open(evil, "rb").read()).hexdigest()
        evil_torrent = os.path.join(cls.tmp, "evil.torrent")
        torrentgen(evil, "-o", evil_torrent, "--format", "v1", "--private", "--comment", XSS_COMMENT)
        q = urllib.parse.urlencode({"digest": digest, "repository": "library/<i>app</i>"})
        cls.evil = cls.tracker.api("POST", "/api/v1/torrents?" + q, open(evil_torrent, "rb").read(),
                                   headers={"Content-Type": "application/x-bittorrent"})
        # A file a seeder pulled from a URL (registered as seeders do: a v1
        # torrent named after its digest, with the digest and the URL).
        weights = os.path.join(cls.tmp, "weights")
        os.makedirs(weights)
        with open(os.path.join(weights, "w.bin"), "wb") as f:
            f.write(os.urandom(50 * 1024))
        cls.url_digest = "sha256:" + hashlib.sha256(open(os.path.join(weights, "w.bin"), "rb").read()).hexdigest()
        os.rename(os.path.join(weights, "w.bin"), os.path.join(weights, cls.url_digest[7:]))
        url_torrent = os.path.join(cls.tmp, "url.torrent")
        torrentgen(os.path.join(weights, cls.url_digest[7:]), "-o", url_torrent, "--format", "v1",
                   "--private")
        cls.url_source = "https://huggingface.co/org/model/resolve/main/w.bin"
        q = urllib.parse.urlencode({"digest": cls.url_digest, "url": cls.url_source})
        cls.url_file = cls.tracker.api("POST", "/api/v1/torrents?" + q, open(url_torrent, "rb").read(),
                                       headers={"Content-Type": "application/x-bittorrent"})
        # A directory torrent (an upload).
        dataset = os.path.join(cls.tmp, "dataset")
        os.makedirs(os.path.join(dataset, "sub dir"))
        for name in ("a.txt", os.path.join("sub dir", "b.txt")):
            with open(os.path.join(dataset, name), "wb") as f:
                f.write(os.urandom(20 * 1024))
        dataset_torrent = os.path.join(cls.tmp, "dataset.torrent")
        torrentgen(dataset, "-o", dataset_torrent, "--format", "v1", "--private")
        cls.dataset = cls.tracker.api("POST", "/api/v1/torrents", open(dataset_torrent, "rb").read(),
                                      headers={"Content-Type": "application/x-bittorrent"})
        # Enough small uploaded-style torrents for two pages of 25.
        for i in range(26):
            p = os.path.join(cls.data, f"filler-{i:02d}.dat")
            with open(p, "wb") as f:
                f.write(os.urandom(1024 * (i + 1)))
            t = p + ".torrent"
            torrentgen(p, "-o", t, "--format", "v1", "--private")
            cls.tracker.api("POST", "/api/v1/torrents", open(t, "rb").read(),
                            headers={"Content-Type": "application/x-bittorrent"})
        # Users with a web password, made through the REST API.
        cls.alice_passkey = cls.tracker.api("POST", "/api/v1/users",
                                            {"name": "alice", "password": ALICE_PASSWORD})["passkey"]
        cls.tracker.api("POST", "/api/v1/users", {"name": "carol", "password": "carol-password-1"})
        cls.browser = make_browser(cls.downloads)
        cls.session = None
        cls.uploaded_id = None

    @classmethod
    def tearDownClass(cls):
        if cls.session is not None:
            del cls.session
        cls.browser.quit()
        cls.tracker.stop()
        if sys.exc_info()[0] is None and not ARGS.keep:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------

    @property
    def b(self):
        return self.browser

    def open(self, path):
        self.b.get(self.tracker.base + path)

    def ready(self):
        """Waits until the page's script has rendered it."""
        self.wait().until(
            lambda d: d.execute_script("return document.body.dataset.ready === '1'"))

    def wait(self, timeout=20):
        # The pages re-render parts of themselves: an element may go between two looks.
        return WebDriverWait(self.b, timeout, ignored_exceptions=[
            NoSuchElementException, StaleElementReferenceException])

    def find(self, css, timeout=20):
        return self.wait(timeout).until(
            lambda d: d.find_element(By.CSS_SELECTOR, css))

    def text_of(self, css, contains, timeout=20):
        try:
            return self.wait(timeout).until(
                lambda d: contains in d.find_element(By.CSS_SELECTOR, css).text
                and d.find_element(By.CSS_SELECTOR, css))
        except TimeoutException:
            self.fail(f"{css} never showed {contains!r}; page: {self.b.find_element(By.TAG_NAME, 'body').text[:2000]}")

    def shot(self, name):
        self.b.save_screenshot(os.path.join(self.shots, name + ".png"))

    def console_errors(self, allow_http_errors=False):
        """Severe console messages since the last call (HTTP error statuses the test provoked
        on purpose may be allowed)."""
        out = []
        for e in self.b.get_log("browser"):
            if e["level"] != "SEVERE":
                continue
            if allow_http_errors and "Failed to load resource" in e["message"]:
                continue
            out.append(e["message"])
        return out

    def assert_clean(self, allow_http_errors=False):
        self.assertEqual(self.console_errors(allow_http_errors), [])
        self.assertEqual(self.b.execute_script("return window.__alerts"), [])
        # No value rendered as "null", "undefined" or "[object ...]".
        shown = self.b.execute_script("return (document.querySelector('main') || document.body).innerText")
        self.assertIsNone(re.search(r"\bnull\b|\bundefined\b|\[object |NaN", shown), shown[:3000])

    def sign_in(self, name, password):
        self.open("/login")
        self.find("#login-name").send_keys(name)
        self.find("#login-password").send_keys(password)
        self.find("#login-submit").click()
        self.wait().until(lambda d: "/login" not in d.current_url)
        self.ready()

    def sign_in_admin(self):
        self.open("/login")
        self.find("#token-box summary").click()
        self.find("#login-token").send_keys(ADMIN_TOKEN)
        self.find("#token-submit").click()
        self.wait().until(lambda d: "/login" not in d.current_url)
        self.ready()

    def sign_out(self):
        self.find("#signout").click()
        self.wait().until(lambda d: "/login" in d.current_url)

    def page_fetch(self, method, path, with_csrf):
        """A fetch() from inside the signed-in page; returns the HTTP status."""
        return self.b.execute_async_script("""
            const [method, path, withCsrf, done] = arguments;
            fetch('/ui/api/session').then(r => r.json()).then(s => {
              const headers = withCsrf ? {'X-CSRF-Token': s.csrf} : {};
              return fetch(path, {method, headers, body: method === 'GET' ? undefined : 'x'});
            }).then(r => done(r.status), e => done(String(e)));""", method, path, with_csrf)

    # --- tests -------------------------------------------------------------------

    def test_01_every_page_but_sign_in_needs_a_session(self):
        for path in ("/", "/torrents", "/torrents/" + self.evil["info_hash_v1"], "/upload",
                     "/users", "/account"):
            status, headers, _ = self.tracker.request("GET", path)
            self.assertEqual(status, 303, path)
            self.assertTrue(headers["Location"].startswith("/login?next="), headers)
        for path in ("/ui/api/torrents", "/ui/api/overview", "/ui/api/users", "/ui/api/session"):
            self.assertEqual(self.tracker.request("GET", path)[0], 401, path)
        self.assertEqual(self.tracker.request("GET", "/login")[0], 200)
        # The browser lands on the sign-in page and comes back after it.
        self.open("/torrents")
        self.wait().until(lambda d: "/login?next=" in d.current_url)
        self.find("#login-name")
        self.shot("login")
        self.assert_clean()

    def test_02_wrong_password_is_refused_inline(self):
        self.open("/login")
        self.find("#login-name").send_keys("alice")
        self.find("#login-password").send_keys("not-her-password")
        self.find("#login-submit").click()
        err = self.text_of("#login-error", "wrong name or password")
        self.assertTrue(err.is_displayed())
        self.assertIn("/login", self.b.current_url)
        self.assert_clean(allow_http_errors=True)

    def test_03_sign_in_attempts_are_rate_limited(self):
        # From another loopback address, so the browser's address keeps its budget.
        body = {"name": "carol", "password": "guess"}
        hdr = {"Content-Type": "application/json"}
        statuses = [self.tracker.request("POST", "/ui/login", body, hdr, source="127.0.0.2")[0]
                    for _ in range(6)]
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[5], 429)
        # Even the right password is not checked while limited, from that address or,
        # for that name, from any other.
        for source in ("127.0.0.2", "127.0.0.4"):
            status, headers, _ = self.tracker.request(
                "POST", "/ui/login", {"name": "carol", "password": "carol-password-1"}, hdr,
                source=source)
            self.assertEqual(status, 429, source)
            self.assertGreater(int(headers["Retry-After"]), 0)
        # A form post from another site (not JSON, foreign Origin) is refused.
        status, _, _ = self.tracker.request(
            "POST", "/ui/login", "name=alice&password=" + ALICE_PASSWORD,
            {"Content-Type": "application/x-www-form-urlencoded"}, source="127.0.0.3")
        self.assertEqual(status, 403)
        status, _, _ = self.tracker.request(
            "POST", "/ui/login", {"name": "alice", "password": ALICE_PASSWORD},
            {"Origin": "http://evil.example"}, source="127.0.0.3")
        self.assertEqual(status, 403)

    def test_04_user_signs_in_and_sees_the_overview(self):
        self.open("/torrents?sort=size")
        self.wait().until(lambda d: "/login" in d.current_url)
        self.find("#login-name").send_keys("alice")
        self.find("#login-password").send_keys(ALICE_PASSWORD)
        self.find("#login-submit").click()
        # Back to the page asked for.
        self.wait().until(lambda d: d.current_url.endswith("/torrents?sort=size"))
        self.ready()
        self.assertEqual(self.find("#who").text, "alice")
        self.assertFalse(self.find("#nav-users").is_displayed())
        cookies = {c["name"]: c for c in self.b.get_cookies()}
        c = cookies["blobswarm_session"]
        self.assertTrue(c["httpOnly"])
        self.assertEqual(c["sameSite"], "Strict")
        self.assertIsNone(self.b.execute_script("return document.cookie.match(/blobswarm_session/)"))
        self.open("/")
        self.ready()
        self.text_of("#totals", "Torrents")
        # 26 fillers, the blob, the URL file and the dataset; nothing uploaded yet.
        self.assertEqual(self.find("#totals .stat-value").text, "29")
        self.text_of("#totals", "1 blobs · 0 segments · 28 files")
        self.assert_clean()

    def test_05_upload_shows_errors_inline_and_registers_a_private_torrent(self):
        self.open("/upload")
        self.ready()
        self.find("#torrent-file").send_keys(self.bad_file)
        self.find("#upload-submit").click()
        err = self.text_of("#upload-error", "not a valid .torrent")
        self.assertTrue(err.is_displayed())
        self.shot("upload-error")
        self.console_errors(allow_http_errors=True)  # the 400 is expected
        self.find("#torrent-file").send_keys(self.payload_torrent)
        self.find("#upload-submit").click()
        ok = self.text_of("#upload-ok", "Registered")
        self.assertIn("payload.bin", ok.text)
        self.assertIn("private flag", ok.text)
        link = self.find("#uploaded-link")
        WebUi.uploaded_id = link.get_attribute("href").rsplit("/", 1)[1]
        t = self.tracker.api("GET", "/api/v1/torrents/" + self.uploaded_id)
        self.assertTrue(t["private"])
        self.assertEqual(t["name"], "payload.bin")
        self.assert_clean()

    def test_06_list_searches_sorts_pages_and_tells_blobs_from_files(self):
        self.open("/torrents")
        self.ready()
        self.text_of("#page-info", "Page 1 of 2 · 30 torrents")
        rows = self.b.find_elements(By.CSS_SELECTOR, "#torrents tbody tr")
        self.assertEqual(len(rows), 25)
        self.find("#next").click()
        self.text_of("#page-info", "Page 2 of 2")
        self.assertEqual(len(self.b.find_elements(By.CSS_SELECTOR, "#torrents tbody tr")), 5)
        self.assertIn("page=2", self.b.current_url)
        # Search by name.
        box = self.find("#search")
        box.clear()
        box.send_keys("payload")
        self.find("#search-form button[type=submit]").click()
        self.text_of("#page-info", "Page 1 of 1 · 1 torrent")
        row = self.find("#torrents tbody tr")
        self.assertIn("payload.bin", row.text)
        self.assertIn("FILE", row.text.upper())
        self.assertIn("uploaded by alice", row.text)
        # Search by digest finds the blob; its row shows the digest and repository.
        box = self.find("#search")
        box.clear()
        box.send_keys(self.evil["digest"][7:30])
        self.find("#search-form button[type=submit]").click()
        self.text_of("#page-info", "Page 1 of 1 · 1 torrent")
        row = self.find("#torrents tbody tr")
        self.assertIn(self.evil["digest"], row.text)
        self.assertIn("library/<i>app</i>", row.text)
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".badge").text.lower(), "blob")
        # Kind filter and sorting by size (largest first, then smallest first).
        self.find("#search").clear()
        self.find("#search-form button[type=submit]").click()
        self.text_of("#page-info", "30 torrents")
        self.find("#kind option[value=blobs]").click()
        self.text_of("#page-info", "Page 1 of 1 · 1 torrent")
        # Files: uploads and files pulled from URLs.
        self.find("#kind option[value=files]").click()
        self.text_of("#page-info", "29 torrents")
        self.find("#kind option[value=all]").click()
        self.text_of("#page-info", "30 torrents")
        self.find("button[data-sort=size]").click()
        self.text_of("th[aria-sort=descending]", "Size")
        first = self.find("#torrents tbody tr").text
        self.assertIn("payload.bin", first)  # 300 KiB, the largest
        self.find("button[data-sort=size]").click()
        self.text_of("th[aria-sort=ascending]", "Size")
        self.assertIn("filler-00.dat", self.find("#torrents tbody tr").text)
        self.find("button[data-sort=name]").click()
        self.text_of("th[aria-sort=ascending]", "Name")
        self.shot("torrents")
        self.assert_clean()

    def test_07_markup_in_names_and_comments_is_shown_as_text(self):
        self.open("/torrents?q=" + urllib.parse.quote("onerror"))
        self.ready()
        link = self.text_of("#torrents a.torrent-link", XSS_NAME)
        self.assertEqual(link.text, XSS_NAME)
        self.assertEqual(self.b.execute_script("return document.querySelectorAll('main img').length"), 0)
        link.click()
        self.wait().until(lambda d: "/torrents/" in d.current_url)
        self.ready()
        self.assertEqual(self.find("#torrent-name").text, XSS_NAME)
        self.assertEqual(self.find("#comment").text, XSS_COMMENT)
        self.assertEqual(self.b.execute_script(
            "return document.querySelectorAll('main img, main script, main b').length"), 0)
        # Nothing ran: no alert, no CSP violation or other error in the console.
        self.assert_clean()

    def test_08_detail_shows_hashes_files_and_a_live_peer_after_a_real_announce(self):
        self.assertIsNotNone(self.uploaded_id)
        self.open("/torrents/" + self.uploaded_id)
        self.ready()
        t = self.tracker.api("GET", "/api/v1/torrents/" + self.uploaded_id)
        self.assertEqual(self.find("#ih-v1").text, t["info_hash_v1"])
        self.assertEqual(self.find("#ih-v2").text, t["info_hash_v2"])
        facts = self.find("dl.facts").text
        self.assertIn("Piece size", facts)
        self.assertIn("a test upload", facts)
        self.assertIn("payload.bin", self.find("#files").text)
        self.find("#no-peers")
        # The .torrent from the download button carries alice's passkey.
        self.find("#download").click()
        path = os.path.join(self.downloads, "payload.bin.torrent")
        wait_until("the .torrent download", lambda: os.path.exists(path) and os.path.getsize(path) > 0)
        ti = lt.torrent_info(path)
        trackers = [a.url for a in ti.trackers()]
        self.assertEqual(trackers, [f"{self.tracker.base}/announce/{self.alice_passkey}"])
        self.assertTrue(ti.priv())
        self.assertEqual(str(ti.info_hashes().v1), t["info_hash_v1"])
        # A real client seeds it with that .torrent: libtorrent announces to the tracker.
        ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False,
                          "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
                          "alert_mask": 0})
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = self.data
        atp.flags |= lt.torrent_flags.seed_mode
        handle = ses.add_torrent(atp)
        try:
            # A leecher announcing by hand (as curl would), in zone dc1, two thirds done.
            left = 100 * 1024
            q = urllib.parse.urlencode({
                "info_hash": bytes.fromhex(t["info_hash_v1"]), "peer_id": b"-qB4520-abcdefghijkl",
                "port": 51413, "uploaded": 5 * 1024 * 1024, "downloaded": 200 * 1024,
                "left": left, "event": "started", "zone": "dc1"})
            status, _, body = self.tracker.request("GET", f"/announce/{self.alice_passkey}?{q}")
            self.assertEqual(status, 200)
            self.assertNotIn(b"failure", body)
            # The page refreshes its peer list by itself.
            table = self.text_of("#peers", "libtorrent 2.0.8", timeout=40)
            text = table.text
            self.assertIn("qBittorrent 4.5.2", text)
            self.assertIn("dc1", text)
            self.assertIn("66.7%", text)
            self.assertIn("100%", text)
            self.assertIn("127.0.0.1:51413", text)
            self.assertIn("5.00 MiB", text)
            self.shot("torrent-detail")
        finally:
            ses.remove_torrent(handle)
            del ses
        self.assert_clean()

    def test_09_magnet_link_names_the_swarm_and_the_users_tracker(self):
        self.open("/torrents/" + self.uploaded_id)
        self.ready()
        magnet = self.find("#magnet").get_attribute("href")
        self.assertTrue(magnet.startswith("magnet:?"), magnet)
        self.assertIn("xt=urn:btih:" + self.uploaded_id, magnet)
        trackers = urllib.parse.parse_qs(urllib.parse.urlsplit(magnet).query)["tr"]
        self.assertEqual(trackers, [f"{self.tracker.base}/announce/{self.alice_passkey}"])
        self.assert_clean()

    def test_10_a_user_cannot_reach_admin_pages_or_skip_the_csrf_token(self):
        self.open("/users")
        self.ready()
        self.text_of("#forbidden", "admins only")
        self.assertEqual(self.page_fetch("GET", "/ui/api/users", False), 403)
        self.assertEqual(self.page_fetch("POST", "/ui/api/users", True), 403)
        self.assertEqual(self.page_fetch("DELETE", "/ui/api/users/alice", True), 403)
        # State changes without the CSRF token are refused even for one's own things.
        self.assertEqual(self.page_fetch("POST", "/ui/api/users/alice/passkey", False), 403)
        self.assertEqual(self.page_fetch("POST", "/ui/api/torrents", False), 403)
        self.assertEqual(self.page_fetch("POST", "/ui/logout", False), 403)
        # Another user's passkey is not hers to see.
        self.assertEqual(self.page_fetch("GET", "/ui/api/users/nodes/passkey", False), 403)
        self.console_errors(allow_http_errors=True)
        # Her own passkey is on her account page.
        self.open("/account")
        self.ready()
        self.find("#show-passkey").click()
        self.text_of("#account-panel", self.alice_passkey)
        self.assert_clean()
        self.sign_out()

    def test_11_admin_creates_shows_rotates_and_revokes_a_user(self):
        self.sign_in_admin()
        self.assertEqual(self.find("#who").text, "admin (admin)")
        self.open("/users")
        self.ready()
        self.text_of("#users", "alice")
        self.find("#new-name").send_keys("bob")
        self.find("#new-password").send_keys("bob-password-1")
        self.find("#create-user button[type=submit]").click()
        created = self.text_of("#created", "Created bob")
        bob_passkey = created.find_element(By.CSS_SELECTOR, ".passkey").text
        self.assertRegex(bob_passkey, r"^[0-9a-f]{32}$")
        self.text_of("#users", "bob")
        actions = self.find('.row-actions[data-user="bob"]')
        actions.find_element(By.CSS_SELECTOR, "[data-action=show]").click()
        self.text_of("#user-panel", bob_passkey)
        self.shot("users")
        actions.find_element(By.CSS_SELECTOR, "[data-action=rotate]").click()
        panel = self.wait().until(
            lambda d: (p := d.find_element(By.CSS_SELECTOR, "#user-panel .passkey")).text != bob_passkey and p)
        new_passkey = panel.text
        self.assertRegex(new_passkey, r"^[0-9a-f]{32}$")
        status, _, _ = self.tracker.request("GET", "/api/v1/users", token=bob_passkey)
        self.assertEqual(status, 401)  # the old passkey stopped working
        status, _, _ = self.tracker.request("GET", "/api/v1/users", token=new_passkey)
        self.assertEqual(status, 200)
        # Revoke takes a second click to confirm.
        actions = self.find('.row-actions[data-user="bob"]')
        revoke = actions.find_element(By.CSS_SELECTOR, "[data-action=revoke]")
        revoke.click()
        self.assertEqual(revoke.text, "Confirm revoke")
        revoke.click()
        self.text_of("#user-panel", "Revoked bob")
        self.wait().until(
            lambda d: "bob" not in d.find_element(By.CSS_SELECTOR, "#users").text)
        status, _, _ = self.tracker.request("GET", "/api/v1/users", token=new_passkey)
        self.assertEqual(status, 401)
        names = [u["name"] for u in self.tracker.api("GET", "/api/v1/users")["users"]]
        self.assertNotIn("bob", names)
        self.assert_clean()
        # The admin's .torrent has no tracker (the admin has no passkey).
        self.open("/torrents/" + self.uploaded_id)
        self.ready()
        self.text_of("#announce-note", "signed in as admin")
        self.sign_out()
        # bob cannot sign in any more.
        self.open("/login")
        self.find("#login-name").send_keys("bob")
        self.find("#login-password").send_keys("bob-password-1")
        self.find("#login-submit").click()
        self.text_of("#login-error", "wrong name or password")
        self.console_errors(allow_http_errors=True)

    def test_12_overview_charts_and_nodes(self):
        self.sign_in_admin()
        self.open("/")
        self.ready()
        self.assertEqual(len(self.b.find_elements(By.CSS_SELECTOR, "svg.chart")), 2)
        # The hand-made leecher announced a minute ago (the libtorrent seeder may have
        # said event=stopped when it went).
        nodes = self.text_of("#nodes", "qBittorrent 4.5.2")
        self.assertIn("alice", nodes.text)
        self.assertIn("dc1", nodes.text)
        paths = self.b.find_elements(By.CSS_SELECTOR, "svg.chart path.line")
        self.assertGreaterEqual(len(paths), 1)
        self.shot("overview")
        self.assert_clean()

    def test_13_narrow_window_layout(self):
        self.b.set_window_size(400, 860)
        try:
            for path, name in (("/torrents", "narrow-torrents"),
                               ("/torrents/" + self.uploaded_id, "narrow-torrent-detail"),
                               ("/torrents/" + self.url_file["info_hash_v1"], "narrow-url-file"),
                               ("/", "narrow-overview")):
                self.open(path)
                self.ready()
                # Nothing wider than the window (tables scroll inside their box).
                overflow = self.b.execute_script(
                    "return document.documentElement.scrollWidth - window.innerWidth")
                self.assertLessEqual(overflow, 1, path)
                self.shot(name)
            self.assert_clean()
        finally:
            self.b.set_window_size(1280, 900)

    def test_14_files_show_where_they_came_from_and_how_a_node_fetches_them(self):
        mirror = "http://127.0.0.1:65001"
        # A file pulled from a URL: listed as a file, with its URL.
        self.open("/torrents?q=" + urllib.parse.quote("huggingface"))
        self.ready()
        self.text_of("#page-info", "Page 1 of 1 · 1 torrent")
        row = self.find("#torrents tbody tr")
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".badge").text.lower(), "file")
        self.assertIn("from " + self.url_source, row.text)
        row.find_element(By.CSS_SELECTOR, "a.torrent-link").click()
        self.wait().until(lambda d: "/torrents/" in d.current_url)
        self.ready()
        ih = self.url_file["info_hash_v1"]
        self.assertEqual(self.find("#source-url").text, self.url_source)
        self.assertEqual(self.find("#fetch-url").get_attribute("value"),
                         f"curl -fLOJ {mirror}/files/{ih}")
        by_url = self.find("#fetch-by-url").get_attribute("value")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(by_url.strip("'").split(" ", 2)[-1].strip("'")).query)
        self.assertEqual(q["url"], [self.url_source])
        self.assertEqual(q["digest"], [self.url_digest])
        self.shot("url-file")
        self.assert_clean()
        # A directory torrent: each file's link names it inside the directory.
        self.open("/torrents/" + self.dataset["info_hash_v1"])
        self.ready()
        links = [a.get_attribute("href") for a in self.b.find_elements(By.CSS_SELECTOR, "#files a.fetch-link")]
        base = f"{mirror}/files/{self.dataset['info_hash_v1']}/"
        self.assertEqual(sorted(links), [base + "a.txt", base + "sub%20dir/b.txt"])
        self.assertEqual(self.find("#fetch-url").get_attribute("value"),
                         f"curl -fLOJ {mirror}/files/{self.dataset['info_hash_v1']}")
        self.assertEqual(len(self.b.find_elements(By.CSS_SELECTOR, "#fetch-by-url")), 0)
        # Image blobs are pulled through the registry API: no /files box.
        self.open("/torrents/" + self.evil["info_hash_v1"])
        self.ready()
        self.assertEqual(len(self.b.find_elements(By.CSS_SELECTOR, "#fetch")), 0)
        self.assert_clean()


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True, help="directory with blobswarm-tracker and torrentgen")
    p.add_argument("--out", required=True, help="directory for screenshots")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ARGS, rest = p.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
