"""The published site, checked in a real browser: serve the built site on loopback, open pages in headless
Chromium (Debian's ``chromium``, driven by Playwright), take screenshots, and fail on an empty page or a missing
image. Also checks every chapter's Colab and Binder launch links.

Runs after ``jupyter-book build``: ``make test`` and ``make site-check`` set ``DFKD_BOOK_SITE=_build/html``.
Without that variable (the first, unit-test pass of ``make test``) these tests are skipped, and say why.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = os.environ.get("DFKD_BOOK_SITE")
pytestmark = pytest.mark.skipif(not SITE, reason="set DFKD_BOOK_SITE=_build/html (make test does, after the build)")

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = [c["file"] for part in TOC["parts"] for c in part["chapters"]]
REPO = "dfkd-book/dfkd-book"
#: Chromium flags for a closed network (no background connections, no Google lookups) and a root user
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def site() -> Path:
    path = (ROOT / SITE).resolve()
    assert (path / "index.html").is_file(), f"no built site at {path}; run `make site` first"
    return path


@pytest.fixture(scope="module")
def server(site):
    """The built site over HTTP on 127.0.0.1, a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 — the base class's signature
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "no Chromium: `apt-get install chromium` (make test installs it when run as root)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        yield b
        b.close()


def _visit(browser, url: str, shot: Path) -> dict:
    """Open ``url``, take a full-page screenshot into ``shot``, and return what the page shows."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    local = url.split("/", 3)[:3]
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        response = page.goto(url, wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{url}: HTTP {response.status if response else 'none'}"
        page.wait_for_timeout(500)  # let the theme's scripts settle
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        info = page.evaluate("""() => {
            const main = document.querySelector('main') || document.body;
            return {
                title: document.title,
                text: main.innerText.trim().length,
                images: Array.from(main.querySelectorAll('img')).map(i => ({
                    src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth})),
            };
        }""")
    finally:
        page.close()
    origin = "/".join(local)
    info["failed_local"] = [u for u in failed if u.startswith(origin)]
    info["local_images"] = [i for i in info["images"] if i["src"].startswith(origin)]
    return info


def _check_page(info: dict, url: str, min_text: int, min_images: int) -> None:
    assert info["text"] >= min_text, f"{url}: the page is (nearly) empty: {info['text']} characters of text"
    missing = [i["src"] for i in info["local_images"] if not i["ok"]]
    assert not missing, f"{url}: images missing or not decodable: {missing}"
    assert not info["failed_local"], f"{url}: requests to the site failed: {info['failed_local']}"
    assert len(info["local_images"]) >= min_images, \
        f"{url}: expected at least {min_images} images (the chapter's figures), found {len(info['local_images'])}"


def _not_blank(shot: Path) -> None:
    from PIL import Image

    assert shot.stat().st_size > 10_000, f"{shot}: screenshot suspiciously small ({shot.stat().st_size} bytes)"
    lo, hi = Image.open(shot).convert("L").getextrema()
    assert hi - lo > 100, f"{shot}: the screenshot is one flat colour ({lo}..{hi})"


def test_index_page_renders(browser, server, site):
    url = f"{server}/index.html"  # Jupyter Book's index redirects to the root page
    shot = site.parent / "screenshots" / "index.png"
    info = _visit(browser, url, shot)
    _check_page(info, url, min_text=500, min_images=0)
    assert "Data-Free Knowledge Distillation" in info["title"]
    _not_blank(shot)


@pytest.mark.parametrize("chapter", ["notebooks/07_benchmark", "notebooks/06_ssd_kd"])
def test_chapter_page_renders_with_its_figures(browser, server, site, chapter):
    url = f"{server}/{chapter}.html"
    shot = site.parent / "screenshots" / f"{Path(chapter).name}.png"
    info = _visit(browser, url, shot)
    _check_page(info, url, min_text=2_000, min_images=2)
    _not_blank(shot)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: Path(c).name)
def test_every_chapter_is_built_with_colab_and_binder_buttons(site, chapter):
    page = site / f"{chapter}.html"
    assert page.is_file(), f"{chapter} is in _toc.yml but not in the built site"
    html = page.read_text()
    colab = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html))
    binder = set(re.findall(r'href="(https://mybinder\.org/[^"]+)"', html))
    assert colab == {f"https://colab.research.google.com/github/{REPO}/blob/main/{chapter}.ipynb"}, colab
    assert binder == {f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=lab/tree/{chapter}.ipynb"}, binder
    assert (ROOT / f"{chapter}.ipynb").is_file(), f"the launch links open {chapter}.ipynb, which does not exist"
