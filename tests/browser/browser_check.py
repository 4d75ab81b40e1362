"""The rendered book, opened in a real browser (``make test-browser``).

Serves ``_build/html`` on 127.0.0.1 and drives the system's headless Chromium
(Debian's ``chromium``) through Playwright; Playwright downloads no browser.
Every page of the book is loaded and fails the test for

* a console error or an uncaught exception,
* a request that fails or answers 4xx/5xx,
* an image that does not load,
* math that MathJax did not typeset,
* a code output wider than its column (a reader would have to scroll, or would
  not see the end of the line at all),

and, separately, for a broken internal link or anchor (read from the HTML
files) and, at a phone's width of 390 px, a chapter list that does not open.

MathJax: the book loads it from a CDN, which this machine cannot reach. The
test serves a local copy of the same MathJax 3 bundle (``$MATHJAX_DIR``, which
``make test-browser`` fills from the npm registry) in place of the CDN URL, so
math is really typeset and checked. Every other request to a host that is not
127.0.0.1 fails the test: the book must not depend on it.

This file is collected only when named on the command line (its name does
not start with ``test_``), so the ordinary test run never needs a browser.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
MATHJAX_DIR = Path(os.environ.get("MATHJAX_DIR", ROOT / ".cache" / "mathjax"))
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Flags for a headless root browser on a machine without a network (see README).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def book_pages(html: Path = HTML) -> list[Path]:
    """Every chapter page of the built book (not Sphinx's own search/genindex pages)."""
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    return sorted(p for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_modules" not in p.parts
                  and "_sources" not in p.parts)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `directory` on 127.0.0.1 (a free port) from a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


class _Anchors(HTMLParser):
    """Collects ids and internal hrefs of one HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(str(values[key]))
        href = values.get("href")
        if tag == "a" and href and not urlparse(href).scheme and not href.startswith("mailto:"):
            self.hrefs.append(href)


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def broken_links(html: Path = HTML) -> list[str]:
    """Internal links whose file or anchor does not exist in the built book."""
    problems = []
    for page in book_pages(html):
        for href in _parse(page).hrefs:
            target, _, anchor = href.partition("#")
            file = (page.parent / unquote(target)).resolve() if target else page
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file():
                problems.append(f"{page.relative_to(html)}: link to missing file {href!r}")
            elif anchor and file.suffix == ".html" and unquote(anchor) not in _parse(file).ids:
                problems.append(f"{page.relative_to(html)}: link to missing anchor {href!r}")
    return problems


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make book` first (make test-browser does).")
    httpd, url = serve(HTML)
    yield url
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test-browser` installs Debian's chromium.")
    if not (MATHJAX_DIR / "es5" / "tex-mml-chtml.js").is_file():
        pytest.fail(f"no local MathJax at {MATHJAX_DIR}: `make test-browser` fetches it.")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser: Any, server: str, viewport: dict[str, int]) -> tuple[Any, list[str]]:
    """A page whose console errors and failed requests are collected into a list."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(server):
            route.continue_()
        elif url.startswith(MATHJAX_CDN):
            local = MATHJAX_DIR / urlparse(url).path.split("/mathjax@3/", 1)[1]
            if local.is_file():
                route.fulfill(path=str(local))
            else:
                problems.append(f"MathJax file not in the local copy: {url}")
                route.abort()
        else:
            problems.append(f"request to an outside host: {url}")
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})")
            if req.url.startswith(server) else None)
    page.on("response", lambda res: problems.append(f"HTTP {res.status}: {res.url}")
            if res.status >= 400 else None)
    return page, problems


# Run in the page once it has loaded: what a reader would see as broken.
_PAGE_CHECKS = """
async () => {
  const problems = [];
  if (document.querySelector('.math')) {
    // MathJax loads deferred: wait (up to 15 s) for it to start, then for its first typesetting.
    for (let i = 0; i < 150 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push('image did not load: ' + img.src);
  }
  for (const m of document.querySelectorAll('.math')) {
    if (!m.querySelector('mjx-container')) problems.push('math not typeset: ' + m.textContent.slice(0, 80));
  }
  const outputs = document.querySelectorAll('.cell_output pre, .output pre, div.output_area pre');
  for (const pre of outputs) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b, '');
      problems.push('output wider than its column (' + pre.scrollWidth + ' > ' + pre.clientWidth + ' px): ' + line.slice(0, 100));
    }
  }
  for (const table of document.querySelectorAll('.cell_output table, article table')) {
    const box = table.closest('.cell_output, .table-wrapper, .pst-scrollable-table-container') || table.parentElement;
    if (table.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== 'auto') {
      problems.push('table wider than its column and not scrollable: ' + table.textContent.slice(0, 80));
    }
  }
  return problems;
}
"""


def page_problems(browser: Any, server: str, rel: str, viewport: dict[str, int] = DESKTOP) -> list[str]:
    """Everything wrong with one page of the book, as a reader would meet it."""
    page, problems = _open(browser, server, viewport)
    try:
        page.goto(server + rel, wait_until="networkidle")
        problems += page.evaluate(_PAGE_CHECKS)
    finally:
        page.context.close()
    return problems


def chapter_list_opens(browser: Any, server: str, rel: str = "book/intro.html") -> list[str]:
    """At a phone's width, the button that shows the chapter list must show it."""
    page, problems = _open(browser, server, PHONE)
    try:
        page.goto(server + rel, wait_until="networkidle")
        sidebar = page.locator("#pst-primary-sidebar, .bd-sidebar-primary").first
        links = sidebar.locator("nav a.reference.internal")
        if links.count() < 3:
            return problems + [f"the sidebar lists {links.count()} chapters"]
        if links.first.is_visible():
            return problems + ["at 390 px the chapter list is already open: the test cannot tell the toggle works"]
        toggle = page.locator("button.primary-toggle, label.sidebar-toggle.primary-toggle").first
        if not toggle.is_visible():
            return problems + ["at 390 px there is no visible button to open the chapter list"]
        toggle.click()
        page.wait_for_timeout(600)
        if not links.first.is_visible():
            problems.append("clicking the chapter-list button at 390 px does not show the chapters")
        box = sidebar.bounding_box()
        if box and box["width"] > PHONE["width"]:
            problems.append(f"the opened chapter list is {box['width']:.0f} px wide on a 390 px screen")
    finally:
        page.context.close()
    return problems


PAGES = [str(p.relative_to(HTML)) for p in book_pages()] if HTML.is_dir() else []


def test_the_book_has_pages() -> None:
    assert len(PAGES) >= 5, f"only {len(PAGES)} pages in {HTML}"


def test_internal_links_and_anchors_resolve() -> None:
    assert broken_links() == []


@pytest.mark.parametrize("rel", PAGES)
def test_page_renders_cleanly(browser: Any, server: str, rel: str) -> None:
    assert page_problems(browser, server, rel) == []


def test_chapter_list_opens_on_a_phone(browser: Any, server: str) -> None:
    assert chapter_list_opens(browser, server) == []


# The guard itself: each check must catch the defect it exists for.

def _page(tmp: Path, name: str, body: str) -> None:
    (tmp / name).write_text(f"<!doctype html><html><head><meta charset='utf-8'></head>"
                            f"<body><article>{body}</article></body></html>", encoding="utf-8")


@pytest.fixture()
def broken_site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    _page(tmp_path, "index.html", "<a href='missing.html'>x</a><a href='other.html#nowhere'>y</a>")
    _page(tmp_path, "other.html", "<p id='here'>here</p>")
    _page(tmp_path, "console.html", "<script>console.error('boom')</script>")
    _page(tmp_path, "image.html", "<img src='nothing.png'>")
    _page(tmp_path, "math.html", "<span class='math'>\\(x^2\\)</span>")
    _page(tmp_path, "wide.html", "<div class='cell_output' style='width:300px'>"
                                 "<pre style='overflow:auto'>" + "x" * 400 + "</pre></div>")
    _page(tmp_path, "outside.html", "<script src='https://example.org/x.js'></script>")
    httpd, url = serve(tmp_path)
    yield tmp_path, url
    httpd.shutdown()


def test_guard_catches_broken_links(broken_site: tuple[Path, str]) -> None:
    problems = broken_links(broken_site[0])
    assert any("missing file 'missing.html'" in p for p in problems)
    assert any("missing anchor 'other.html#nowhere'" in p for p in problems)


@pytest.mark.parametrize("name, expected", [
    ("console.html", "console error: boom"),
    ("image.html", "image did not load"),
    ("image.html", "HTTP 404"),
    ("math.html", "math not typeset"),
    ("wide.html", "output wider than its column"),
    ("outside.html", "request to an outside host"),
])
def test_guard_catches_page_defects(browser: Any, broken_site: tuple[Path, str], name: str,
                                    expected: str) -> None:
    problems = page_problems(browser, broken_site[1], name)
    assert any(expected in p for p in problems), problems


def test_guard_catches_a_chapter_list_that_does_not_open(browser: Any,
                                                         broken_site: tuple[Path, str]) -> None:
    _page(broken_site[0], "nosidebar.html", "<p>no sidebar</p>")
    assert chapter_list_opens(browser, broken_site[1], "nosidebar.html") != []
