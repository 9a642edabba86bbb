"""The published site, checked in a real browser: serve the built site on loopback, open every page (the index and
every file in ``_toc.yml``) in headless Chromium (Debian's ``chromium``, driven by Playwright), screenshot each into
``_build/screenshots/NAME.png`` and fail, naming the page, the element and the first offending text, on

* a page that is (nearly) empty or a flat screenshot;
* a request to any host but the site itself (the site must work offline: MathJax is served from ``_static/``) and
  a request to the site that failed or answered an HTTP error;
* an image that is missing or cannot be decoded, or fewer images than the chapter's notebook has figures;
* TeX left raw after MathJax has typeset the page (``$``, ``\\frac``, ``\\(``, ``_{``… in prose), or a TeX error;
* a table cut by pandas (a cell that is just ``...``, a cell cut to ``display.max_colwidth`` ending in ``...``, a
  text repr ending in ``[N rows x M columns]``), or a table cell that prints a missing value (``NaN``, ``nan``,
  ``None``, ``<NA>``, ``NaT``) where the reader should see "–";
* code, input or output, wider than its column (the reader must scroll sideways): the first line that does not fit
  and how many characters of the monospace font the column holds (cells collapsed by hide-input are opened first);
* a display equation or a table wider than its column (cut on screen), with its TeX or its columns.

Non-local requests are aborted, so the screenshots show what a reader without a network sees. The in-browser checks
are themselves tested on a page built to fail each of them. Also checks every chapter's Colab and Binder links.

Runs after ``jupyter-book build``: ``make test`` and ``make site-check`` set ``DFKD_BOOK_SITE=_build/html``.
Without that variable (the first, unit-test pass of ``make test``) these tests are skipped, and say why.
"""

from __future__ import annotations

import functools
import json
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
#: every page a reader reaches: the index (it redirects to the root page) and every file in the table of contents
PAGES = ["index", TOC["root"], *CHAPTERS]
REPO = "dfkd-book/dfkd-book"
VIEWPORT = {"width": 1280, "height": 900}
#: scrollWidth may exceed clientWidth by rounding; more than this is a horizontal scroll bar
SLACK_PX = 3
#: Chromium flags for a closed network (no background connections, no Google lookups) and a root user
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
#: at most this many findings of one kind are spelled out in a failure message
SHOW = 12


def _name(page: str) -> str:
    return Path(page).name


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


@pytest.fixture(scope="module")
def visited(browser, server, site):
    """``visited(page)``: open the page once (the first test that asks), screenshot it, and return what it shows."""
    cache: dict[str, dict] = {}

    def get(page: str) -> dict:
        if page not in cache:
            cache[page] = _visit(browser, server, page, site.parent / "screenshots" / f"{_name(page)}.png")
        return cache[page]

    return get


# --- what the page shows: run in the browser ------------------------------------------------------------------

#: Wait for MathJax (where the page loads it) to finish its first typesetting pass.
_WAIT_MATHJAX = """async () => {
    const script = [...document.querySelectorAll('script[src]')].find(s => /mathjax/i.test(s.src));
    if (!script) return {script: null};
    const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
    for (const t0 = Date.now(); !ready() && Date.now() - t0 < 5000;) await new Promise(r => setTimeout(r, 100));
    if (!ready()) return {script: script.src, loaded: false};
    await MathJax.startup.promise;
    return {script: script.src, loaded: true, version: MathJax.version};
}"""

#: Wait for every image in the page to load and decode; report each with whether it decoded.
_IMAGES = """async () => {
    const main = document.querySelector('main') || document.body;
    const imgs = [...main.querySelectorAll('img')];
    const ok = await Promise.all(imgs.map(i => i.decode().then(() => i.naturalWidth > 0, () => false)));
    await document.fonts.ready;
    return imgs.map((i, k) => ({src: i.currentSrc || i.src, ok: ok[k], w: i.naturalWidth}));
}"""

#: Where an element is, in words a reader can find: the section heading and, inside a notebook cell, its code.
_WHERE = """
const where = el => {
    let h = null;  // the nearest section with a heading (an exercise's content is a section without one)
    for (let sec = el.closest('section'); sec && !h; sec = sec.parentElement && sec.parentElement.closest('section'))
        h = sec.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > h4');
    const box = el.closest('.admonition');  // an exercise, a solution, a note
    const title = box && box.querySelector('.admonition-title');
    const cell = el.closest('div.cell');
    const code = cell && cell.querySelector('.cell_input pre');
    const first = code ? code.textContent.split('\\n').find(l => l.trim()) : null;
    const clean = t => t.replace(/[#¶]\\s*$/, '').replace(/\\s+/g, ' ').trim();
    return (h ? `section "${clean(h.textContent)}"` : 'the page')
        + (title ? `, in “${clean(title.textContent).slice(0, 80)}”` : '')
        + (first ? `, the cell beginning \\`${first.trim().slice(0, 80)}\\`` : '');
};
"""

#: The checks that read the DOM after MathJax, images and fonts are done.
_INSPECT = """() => {
    const main = document.querySelector('main') || document.body;
    """ + _WHERE + """
    const snippet = (text, at, n = 60) =>
        (at > n ? '…' : '') + text.slice(Math.max(0, at - n), at + n).replace(/\\s+/g, ' ').trim()
        + (at + n < text.length ? '…' : '');

    // raw TeX: text outside code and outside MathJax's output that still looks like TeX
    const SKIP = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight, .headerlink';
    const TEX = /\\$|\\\\[A-Za-z]+|\\\\[()[\\]{}]|[_^]\\{/;
    const raw = [];
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    for (let n; (n = walker.nextNode());) {
        const p = n.parentElement;
        if (!p || p.closest(SKIP)) continue;
        const m = n.nodeValue.match(TEX);
        if (!m) continue;
        const block = p.closest('p, li, td, th, dt, dd, figcaption, h1, h2, h3, h4, h5, h6, div') || p;
        const text = block.textContent;
        const at = text.indexOf(n.nodeValue) + m.index;
        raw.push({tex: m[0], text: snippet(text, at), where: where(block)});
    }
    const texErrors = [...main.querySelectorAll('mjx-merror')].map(e => ({
        error: e.getAttribute('data-mjx-error') || e.textContent, where: where(e)}));
    const mathNodes = main.querySelectorAll('.math').length;
    const typeset = main.querySelectorAll('mjx-container').length;

    // tables cut by pandas: rows or columns elided (a cell that is just "..."), cell text cut to
    // display.max_colwidth (a cell ending in "..."), or a text repr ending in "[N rows x M columns]"
    const truncated = [];
    const dots = c => /^(\\.\\.\\.|…)$/.test(c.textContent.trim());
    const cut = c => !dots(c) && /\\.\\.\\.$/.test(c.textContent.trim());
    main.querySelectorAll('table').forEach((t, k) => {
        const cells = [...t.querySelectorAll('td, th')];
        const elided = cells.filter(dots), shortened = cells.filter(cut);
        if (!elided.length && !shortened.length) return;
        const rows = [...t.rows];
        const kinds = [];
        if (rows.some(r => r.cells.length && [...r.cells].every(dots))) kinds.push('rows elided');
        if (rows.some(r => [...r.cells].some(dots) && ![...r.cells].every(dots))) kinds.push('columns elided');
        if (shortened.length) kinds.push(`${shortened.length} cells cut to `
            + `${Math.max(...shortened.map(c => c.textContent.trim().length))} characters`);
        const head = [...(t.tHead ? t.tHead.rows[0].cells : rows[0].cells)].map(c => c.textContent.trim())
            .filter(Boolean).slice(0, 8);
        truncated.push({table: k + 1, where: where(t), columns: head.join(' | '), kind: kinds.join(', '),
                        first: (shortened[0] || elided[0]).textContent.trim()});
    });
    main.querySelectorAll('.cell_output pre').forEach(p => {
        const m = p.textContent.match(/\\[\\d+ rows x \\d+ columns\\]/);
        if (m) truncated.push({table: 'text', where: where(p), columns: '', kind: 'text repr', first: m[0]});
    });
    // missing values shown as pandas prints them: a reader sees "NaN" where the table means "none"
    const missing = [];
    main.querySelectorAll('table').forEach((t, k) => {
        const bad = [...t.querySelectorAll('td')].filter(c => /^(nan|NaN|None|<NA>|NaT)$/.test(c.textContent.trim()));
        if (!bad.length) return;
        const head = [...(t.tHead ? t.tHead.rows[0].cells : t.rows[0].cells)].map(c => c.textContent.trim())
            .filter(Boolean).slice(0, 8);
        missing.push({table: k + 1, where: where(t), columns: head.join(' | '), cells: bad.length});
    });

    return {raw, texErrors, mathNodes, typeset, truncated, missing,
            title: document.title, url: location.href, text: main.innerText.trim().length};
}"""

#: Code blocks, display equations and tables wider than their column: measured after opening every collapsed toggle
#: (hide-input cells).
_OVERFLOW = """(slack) => {
    const main = document.querySelector('main') || document.body;
    """ + _WHERE + """
    const canvas = document.createElement('canvas').getContext('2d');
    const found = [];
    let column = null;
    for (const pre of main.querySelectorAll('pre')) {
        // the element that scrolls: the pre itself (the theme's) or a div.highlight around it
        const boxes = [pre, pre.closest('div.highlight')].filter(Boolean);
        const box = boxes.find(b => b.scrollWidth > b.clientWidth + slack);
        const cs = getComputedStyle(pre);
        canvas.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
        const ch = canvas.measureText('0'.repeat(100)).width / 100;
        const bs = getComputedStyle(boxes[0]);
        const avail = boxes[0].clientWidth - parseFloat(bs.paddingLeft) - parseFloat(bs.paddingRight);
        const kind = pre.closest('.cell_input') ? 'input' : pre.closest('.cell_output') ? 'output' : 'code block';
        // the code column: the first visible cell input (else the first visible code block)
        const shown = !pre.closest('details:not([data-was-open])');
        if (avail > 0 && shown && (!column || column.kind !== 'input' && kind === 'input'))
            column = {px: avail, ch_px: ch, chars: Math.floor(avail / ch + 1e-6), font: cs.fontFamily,
                      size: cs.fontSize, kind};
        if (!box) continue;
        const tab = ' '.repeat(parseInt(cs.tabSize) || 8);
        const lines = pre.textContent.replace(/\\n$/, '').split('\\n');
        const wide = [];
        lines.forEach((l, i) => {
            const w = canvas.measureText(l.replace(/\\t/g, tab)).width;
            if (w > avail + slack) wide.push({line: i + 1, chars: l.length, text: l});
        });
        found.push({kind, where: where(pre), scroll: box.scrollWidth, client: box.clientWidth,
                    fits: Math.floor(avail / ch + 1e-6), wide, hidden: !shown});
    }
    // display equations and tables wider than the column: MathJax and pandas scroll them, the reader sees them cut
    const equations = [...main.querySelectorAll('mjx-container[display="true"]')]
        .filter(c => c.scrollWidth > c.clientWidth + slack).map(c => {
            const item = window.MathJax && MathJax.startup && MathJax.startup.document
                && MathJax.startup.document.getMathItemsWithin(c)[0];
            return {where: where(c), width: c.scrollWidth, column: c.clientWidth,
                    tex: item ? item.math.replace(/\\s+/g, ' ').trim() : c.textContent.trim()};
        });
    const tables = [];
    main.querySelectorAll('table').forEach((t, k) => {
        const box = t.closest('div.output, div.cell_output, section') || main;
        const width = t.getBoundingClientRect().width;
        if (width <= box.clientWidth + slack) return;
        const head = [...(t.tHead ? t.tHead.rows[0].cells : t.rows[0].cells)].map(c => c.textContent.trim())
            .filter(Boolean).slice(0, 8);
        tables.push({table: k + 1, where: where(t), width: Math.round(width), column: box.clientWidth,
                     columns: head.join(' | ')});
    });
    return {found, column, equations, tables};
}"""


def _visit(browser, server: str, page_path: str, shot: Path) -> dict:
    """Open a page with every non-local request aborted, wait for MathJax, images and fonts, take a full-page
    screenshot into ``shot``, then read what the page shows."""
    url = f"{server}/{page_path}.html"
    page = browser.new_page(viewport=VIEWPORT)
    local = server + "/"
    outside, failed, errors = [], [], []

    def route(r):
        if r.request.url.startswith(local):
            r.continue_()
        else:  # the site must not need another host: record it, and behave as a reader offline would see it
            outside.append(f"{r.request.url} ({r.request.resource_type})")
            r.abort("internetdisconnected")

    page.route("**/*", route)
    page.on("requestfailed", lambda r: r.url.startswith(local) and failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.url.startswith(local) and r.status >= 400 and failed.append(
        f"{r.url} (HTTP {r.status})"))
    page.on("pageerror", lambda e: errors.append(str(e).splitlines()[0]))
    try:
        response = page.goto(url, wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{url}: HTTP {response.status if response else 'none'}"
        if page_path == "index":  # Jupyter Book's index.html redirects to the root page
            page.wait_for_url(f"{server}/{TOC['root']}.html", timeout=10_000)
            page.wait_for_load_state("load")
        mathjax = page.evaluate(_WAIT_MATHJAX)
        images = page.evaluate(_IMAGES)
        page.wait_for_timeout(300)  # let the theme's scripts settle
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        info = page.evaluate(_INSPECT)
        page.evaluate("""() => document.querySelectorAll('main details').forEach(d => {
            if (d.open) d.setAttribute('data-was-open', ''); d.open = true; })""")
        info |= page.evaluate(_OVERFLOW, SLACK_PX)
    finally:
        page.close()
    return info | {"page": f"{page_path}.html", "mathjax": mathjax, "images": images, "outside": outside,
                   "failed": failed, "errors": errors, "shot": shot,
                   "local_images": [i for i in images if i["src"].startswith(local)]}


def _figures(page_path: str) -> int:
    """How many figures the page's notebook has: image outputs of code cells that the site shows."""
    nb = ROOT / f"{page_path}.ipynb"
    if not nb.is_file():
        return 0
    count = 0
    for cell in json.loads(nb.read_text())["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-cell", "remove-output", "remove_cell", "remove_output"}:
            continue
        count += sum(any(k.startswith("image/") for k in o.get("data", {})) for o in cell.get("outputs", []))
    return count


def _listing(items: list[str]) -> str:
    more = f"\n  … and {len(items) - SHOW} more" if len(items) > SHOW else ""
    return "".join(f"\n  - {i}" for i in items[:SHOW]) + more


# --- the checks, one test per page and kind --------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_renders(visited, page):
    info = visited(page)
    minimum = 2_000 if page in CHAPTERS else 500
    assert info["text"] >= minimum, f"{info['page']}: the page is (nearly) empty: {info['text']} characters of text"
    assert "Data-Free Knowledge Distillation" in info["title"], f"{info['page']}: title {info['title']!r}"
    shot = info["shot"]
    from PIL import Image

    assert shot.stat().st_size > 10_000, f"{shot}: screenshot suspiciously small ({shot.stat().st_size} bytes)"
    lo, hi = Image.open(shot).convert("L").getextrema()
    assert hi - lo > 100, f"{shot}: the screenshot is one flat colour ({lo}..{hi})"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_needs_no_other_host(visited, page):
    info = visited(page)
    assert not info["outside"], (
        f"{info['page']} requests other hosts, so it breaks offline (a self-contained site serves everything "
        f"itself):{_listing(info['outside'])}"
        + (f"\n  JavaScript errors on the page:{_listing(info['errors'])}" if info["errors"] else ""))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_requests_to_the_site_succeed(visited, page):
    info = visited(page)
    assert not info["failed"], f"{info['page']}: requests to the site failed:{_listing(info['failed'])}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_images_load_and_all_figures_are_there(visited, page):
    info = visited(page)
    missing = [i["src"] for i in info["images"] if not i["ok"]]
    assert not missing, f"{info['page']}: images missing or not decodable:{_listing(missing)}"
    figures = _figures(page)
    assert len(info["local_images"]) >= figures, (
        f"{info['page']}: the notebook has {figures} figures (image outputs of shown cells), "
        f"the page shows {len(info['local_images'])} images")


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_has_no_raw_tex(visited, page):
    info = visited(page)
    mj = info["mathjax"]
    if info["mathNodes"]:
        assert mj["script"], f"{info['page']}: {info['mathNodes']} equations but no MathJax script on the page"
        assert mj["loaded"], f"{info['page']}: MathJax did not start ({mj['script']}): its equations stay raw TeX"
        assert info["typeset"] >= info["mathNodes"], (
            f"{info['page']}: MathJax typeset {info['typeset']} of {info['mathNodes']} equations")
    errors = [f"{e['where']}: {e['error']}" for e in info["texErrors"]]
    assert not errors, f"{info['page']}: MathJax could not typeset:{_listing(errors)}"
    raw = [f"{r['where']}: `{r['tex']}` in “{r['text']}”" for r in info["raw"]]
    assert not raw, f"{info['page']}: raw TeX left in the text after MathJax typeset the page:{_listing(raw)}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_tables_are_not_truncated(visited, page):
    info = visited(page)
    cut = [f"table {t['table']} in {t['where']}: {t['kind']}; columns: {t['columns']}; first cut cell: “{t['first']}”"
           for t in info["truncated"]]
    assert not cut, f"{info['page']}: tables cut with '...' (pandas display limits):{_listing(cut)}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_tables_show_no_nan(visited, page):
    info = visited(page)
    nan = [f"table {t['table']} in {t['where']}: {t['cells']} cells; columns: {t['columns']}" for t in info["missing"]]
    assert not nan, f"{info['page']}: tables print missing values as NaN / None (format them as '–'):{_listing(nan)}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_code_fits_its_column(visited, page):
    info = visited(page)
    blocks = []
    for b in info["found"]:
        first = b["wide"][0] if b["wide"] else None
        line = (f"line {first['line']} ({first['chars']} characters): `{first['text'].strip()[:140]}`"
                if first else "(no single line measured wider: check the block's layout)")
        what = {"input": "cell input", "output": "cell output"}.get(b["kind"], b["kind"])
        blocks.append(f"{what}{' (collapsed)' if b['hidden'] else ''} in {b['where']}: "
                      f"{len(b['wide'])} lines wider than the {b['fits']} characters that fit "
                      f"({b['scroll']} px of content in {b['client']} px); first: {line}")
    col = info["column"]
    width = f" at a {VIEWPORT['width']} px window the code column holds {col['chars']} characters" if col else ""
    assert not blocks, f"{info['page']}: code wider than its column (scrolls sideways);{width}:{_listing(blocks)}"


#: a page with one of everything the checks look for, and look-alikes they must leave alone
_BAIT = r"""<html><head><title>bait</title></head><body><main><section id="s"><h1>Bait<a class="headerlink">#</a></h1>
<p>a stray $x$ here</p><p>raw \frac{a}{b} here</p><p>and S_{l,c} here</p><p>unrendered \(x\) here</p>
<p>fine: <code>$HOME \frac{a}{b}</code>, 0, 1, ..., K</p><div class="highlight"><pre>echo $PATH \frac</pre></div>
<span class="math"><mjx-container>x_{1}</mjx-container></span>
<div class="cell"><div class="cell_input"><div class="highlight"><pre>df  # the cell</pre></div></div>
<div class="cell_output"><table><thead><tr><th></th><th>a</th><th>...</th><th>z</th></tr></thead><tbody>
<tr><th>0</th><td>1</td><td>...</td><td>2</td></tr><tr><th>...</th><td>...</td><td>...</td><td>...</td></tr>
</tbody></table><table><tr><th>x</th></tr><tr><td>a sentence that pandas cut at its max_colwidth ...</td></tr>
<tr><td>0, 1, ..., K</td></tr></table><pre>     a
[100 rows x 3 columns]</pre></div></div>
<div class="output" style="width: 320px"><table><tr><th>wide</th><td style="min-width: 400px">x</td></tr></table>
<mjx-container display="true" style="display: block; overflow-x: auto"><span style="display: inline-block;
width: 500px">wide equation</span></mjx-container>
<table><tr><th>m</th><th>p</th></tr><tr><td>a</td><td>NaN</td></tr><tr><td>b</td><td>nan</td></tr>
<tr><td>a nan inside</td><td>–</td></tr></table>
<pre style="font: 14px monospace; padding: 0 10px; overflow: auto">fits
WIDE_LINE</pre></div></section></main></body></html>""".replace("WIDE_LINE", "x" * 100)


def test_the_checks_find_what_they_look_for(browser):
    """The in-browser checks on a page made to fail them: each finds its bait and nothing else."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.set_content(_BAIT)
        info = page.evaluate(_INSPECT) | page.evaluate(_OVERFLOW, SLACK_PX)
    finally:
        page.close()
    assert [r["tex"] for r in info["raw"]] == ["$", "\\frac", "_{", "\\("], info["raw"]
    assert info["raw"][0]["where"] == 'section "Bait"' and "a stray $x$ here" in info["raw"][0]["text"]
    assert [t["kind"] for t in info["truncated"]] == [
        "rows elided, columns elided", "1 cells cut to 50 characters", "text repr"], info["truncated"]
    assert "the cell beginning `df  # the cell`" in info["truncated"][0]["where"]
    assert [t["table"] for t in info["tables"]] == [3] and info["tables"][0]["columns"] == "wide | x", info["tables"]
    assert [e["tex"] for e in info["equations"]] == ["wide equation"], info["equations"]
    assert [(t["table"], t["cells"]) for t in info["missing"]] == [(4, 2)], info["missing"]
    (block,) = info["found"]
    assert [(w["line"], w["chars"]) for w in block["wide"]] == [(2, 100)], block
    assert 30 <= block["fits"] <= 45 and block["kind"] == "code block", block
    assert info["column"]["kind"] == "input" and info["column"]["chars"] > 100, info["column"]  # the cell's


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_equations_fit_their_column(visited, page):
    info = visited(page)
    wide = [f"{e['where']}: {e['width']} px in {e['column']} px: `{e['tex'][:160]}`" for e in info["equations"]]
    assert not wide, f"{info['page']}: display equations wider than the column (cut on screen):{_listing(wide)}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_tables_fit_their_column(visited, page):
    info = visited(page)
    wide = [f"table {t['table']} in {t['where']}: {t['width']} px in {t['column']} px; columns: {t['columns']}"
            for t in info["tables"]]
    assert not wide, f"{info['page']}: tables wider than the column (scroll sideways):{_listing(wide)}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_name)
def test_every_chapter_is_built_with_colab_and_binder_buttons(site, chapter):
    """A notebook page opens itself on Colab and Binder; a markdown page (Appendix C) has nothing to launch."""
    page = site / f"{chapter}.html"
    assert page.is_file(), f"{chapter} is in _toc.yml but not in the built site"
    html = page.read_text()
    if (ROOT / f"{chapter}.md").is_file():
        assert "colab.research.google.com" not in html, f"{chapter} is markdown: it has no notebook to launch"
        return
    colab = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html))
    binder = set(re.findall(r'href="(https://mybinder\.org/[^"]+)"', html))
    assert colab == {f"https://colab.research.google.com/github/{REPO}/blob/main/{chapter}.ipynb"}, colab
    assert binder == {f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=lab/tree/{chapter}.ipynb"}, binder
    assert (ROOT / f"{chapter}.ipynb").is_file(), f"the launch links open {chapter}.ipynb, which does not exist"
