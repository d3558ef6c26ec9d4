"""Screenshots of the dashboard for docs/img, from a demo shop in a real browser.

    python tools/screenshots.py [--customers 3000] [--lang en]

Builds the demo shop in a temporary folder, starts `retentio serve` on it, signs in with Debian's
Chromium through Playwright and writes docs/img/web-*.png.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"overview": "/", "cohorts": "/cohorts", "segments": "/segments", "customer": "/customers/K10007",
         "at-risk": "/at-risk", "predictions": "/predictions", "flow": "/flows/winback", "data": "/data",
         "segment-builder": "/segments/new"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--lang", default="en")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    out = subprocess.run([sys.executable, "-m", "retentio", "--lang", args.lang, "demo", "--customers",
                          str(args.customers), "--out", str(folder)], capture_output=True, text=True, check=True)
    text = re.sub(r"\s+", " ", out.stderr + " " + out.stdout)
    found = re.search(r"as (\S+@\S+) (?:with the password|mit dem Passwort) (\S+)", text)
    assert found, out.stderr[-2000:]
    email, password = found.groups()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "retentio", "--db", str(folder / "retentio-demo.db"), "serve",
                               "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{base}/login?lang={args.lang}")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            for name, path in PAGES.items():
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(400)
                page.screenshot(path=str(ROOT / "docs" / "img" / f"web-{name}.png"))
                print("docs/img/web-" + name + ".png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
