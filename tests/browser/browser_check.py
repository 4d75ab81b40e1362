"""The rendered book, opened in a real browser (``make test-browser``).

Serves ``_build/html`` on 127.0.0.1 and drives the system's headless Chromium
(Debian's ``chromium``) through Playwright; Playwright downloads no browser.
Every page of the book is loaded and fails the test for

* a console error or an uncaught exception,
* a request that fails or answers 4xx/5xx,
* an image that does not load,
* math that MathJax did not typeset,
* raw markup that never rendered: a MyST role or directive (``{glue``,
  ``{doc}``, a fence) in the text, or a paragraph of ``|``-separated cells (a
  table that was not parsed),
* a page wider than the screen (the reader scrolls the whole page sideways),
* a code input, code output or Tip-box line wider than its box at 1280 px,
  where the book's lines (76 characters) must fit; at 390 px such a box must
  scroll on its own (a box that cuts its lines off fails at any width),
* an output the browser wrapped a second time (text already wrapped by the
  code, broken again by CSS into a ragged block),
* a figure without a number, a caption or alt text that says what it shows
  (an image in a cell output, not placed by ``{glue:figure}``),
* a verdict table that is not the book's schema (columns exactly ``Claim |
  Tested under | Verdict | Evidence``, one lower-case verdict word a cell),
* a page without a ``<meta name="description">``, a ``<title>`` that repeats
  the book's title, or a link to a placeholder repository,
* harness in the reader's way: a shown code cell made only of ``assert`` and
  ``glue(...)`` lines, or a shown import from a private module,
* text a reader should never meet: an install line for the registry's
  unrelated ``companion``, raw LaTeX (a bibliography label such as
  ``{\\~n}``), a report's "target met", a file name (``ranking/zero_loss``) in
  a table cell where a chapter title belongs, an API entry under a private
  module path,
* a landing page whose Next does not go to the first chapter of Part I,

each at 1280 px (a laptop) and at 390 px (a phone), and, separately, for a
broken internal link or anchor (read from the HTML files) and, at a phone's
width of 390 px, a chapter list that does not open. A failing page reports
one line per problem, prefixed by the check that found it.

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
_PAGE_CHECKS = r"""
async () => {
  const problems = [];
  if (document.querySelector('.math') && document.querySelector('script[src*="mathjax" i]')) {
    // MathJax loads deferred: wait (up to 15 s) for it to start, then for its first typesetting.
    // A page that does not load it at all has nothing to wait for: its math is simply not typeset.
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
  // A box wider than the screen may scroll on its own on a phone; at 1280 px everything fits.
  const desktop = window.innerWidth >= 1000;
  const scrollsOnItsOwn = (el, stop) => {
    for (let a = el; a && a !== stop && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX) && a.clientWidth <= window.innerWidth) return true;
    }
    return false;
  };
  const outputs = document.querySelectorAll('.cell_output pre, .output pre, div.output_area pre');
  for (const pre of outputs) {
    if (pre.scrollWidth > pre.clientWidth + 1 && (desktop || !scrollsOnItsOwn(pre, pre.parentElement))) {
      const line = pre.textContent.split('\n').reduce((a, b) => a.length >= b.length ? a : b, '');
      problems.push('output wider than its column (' + pre.scrollWidth + ' > ' + pre.clientWidth + ' px): ' + line.slice(0, 100));
    }
  }
  for (const table of document.querySelectorAll('.cell_output table, article table')) {
    const box = table.closest('.cell_output, .table-wrapper, .pst-scrollable-table-container') || table.parentElement;
    if (table.scrollWidth > box.clientWidth + 1 && !scrollsOnItsOwn(table.parentElement, box.parentElement)) {
      problems.push('table wider than its column and not scrollable: ' + table.textContent.slice(0, 80));
    }
  }
  const article = document.querySelector('article') || document.body;
  // Raw markup: MyST that was never parsed, or a table left as |-text.
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const roles = '(glue|glue:text|glue:figure|doc|ref|cite|cite:p|cite:t|numref|eq|math|func|class|mod|attr|meth|data|term|download)';
  const raw = new RegExp('\\{' + roles + '\\}`|^\\s*```\\s*\\{');
  // In inline code a role may be shown on purpose ({glue:text}`name` in a how-to, or the
  // name of a {glue:figure} directive); a role that ends the code while its argument and
  // backticks follow it as text ("plateau``") was nested in code and never rendered.
  const cutRole = new RegExp('\\{' + roles + '\\}$');
  const nested = code => {
    const after = code.nextSibling ? (code.nextSibling.textContent || '') : '';
    return cutRole.test(code.textContent.trim()) && /^[^\s`]+`/.test(after);
  };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, .highlight, script, style, .cell_input')) continue;
    const inCode = parent.closest('code');
    if (inCode ? nested(inCode) : raw.test(node.textContent)) {
      problems.push('raw markup: ' + (inCode ? inCode.textContent : node.textContent).trim().slice(0, 90));
    }
  }
  for (const p of article.querySelectorAll('p')) {
    const text = p.textContent.trim();
    if (text.startsWith('|') && (text.match(/\|/g) || []).length >= 3) {
      problems.push('raw markup: a table shown as |-text: ' + text.slice(0, 90));
    }
  }
  // The page itself must never scroll sideways.
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > window.innerWidth + 1) {
    let widest = null;
    for (const el of article.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > window.innerWidth + 1 && (!widest || r.width < widest.getBoundingClientRect().width)) widest = el;
    }
    problems.push('page wider than the screen (' + pageWidth + ' > ' + window.innerWidth + ' px)' +
                  (widest ? ': ' + widest.tagName.toLowerCase() + '.' + [...widest.classList].join('.') + ' ' +
                   (widest.textContent || '').trim().slice(0, 60) : ''));
  }
  // Code inputs, outputs and Tip boxes: lines fit at 1280 px; at 390 px a wider box scrolls.
  // (Outputs have their own check above.)
  const kinds = [['code input', 'div.cell_input pre'], ['Tip or admonition code', 'div.admonition pre'],
                 ['code', 'article div.highlight pre:not(.cell_output pre)']];
  const seen = new Set();
  for (const [kind, selector] of kinds) {
    for (const pre of article.querySelectorAll(selector)) {
      if (seen.has(pre) || pre.closest('details:not([open])') || pre.offsetParent === null) continue;
      seen.add(pre);
      if (pre.scrollWidth <= pre.clientWidth + 1) continue;
      const line = pre.textContent.split('\n').reduce((a, b) => a.length >= b.length ? a : b, '');
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(pre).overflowX);
      if (desktop || !scrolls) {
        problems.push(kind + ' wider than its box (' + line.length + ' characters, ' + pre.scrollWidth + ' > ' +
                      pre.clientWidth + ' px' + (scrolls ? '' : ', cut off') + '): ' + line.trim().slice(0, 70));
      }
    }
  }
  // Outputs wrapped again by the browser: more rendered lines than text lines.
  for (const pre of article.querySelectorAll('.cell_output pre, .output pre')) {
    if (pre.offsetParent === null) continue;
    const cs = getComputedStyle(pre);
    if (!/pre-wrap|pre-line|normal|break-spaces/.test(cs.whiteSpace)) continue;
    const lineHeight = parseFloat(cs.lineHeight) || 1.2 * parseFloat(cs.fontSize);
    const rendered = Math.round((pre.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom)) / lineHeight);
    const lines = pre.textContent.replace(/\n+$/, '').split('\n').length;
    if (rendered > lines) {
      problems.push('output wrapped a second time by the browser (' + lines + ' lines shown as ' + rendered + '): ' +
                    pre.textContent.trim().split('\n')[0].slice(0, 70));
    }
  }
  // Figures: numbered, captioned, with alt text that says what they show.
  for (const img of article.querySelectorAll('img')) {
    if (img.closest('.bd-sidebar-primary, .bd-header, .navbar-brand, .sd-card, a.headerlink')) continue;
    if (img.naturalWidth && img.naturalWidth < 48) continue;  // icons, badges
    const name = (img.getAttribute('src') || '').split('/').pop();
    const figure = img.closest('figure');
    const caption = figure && figure.querySelector('figcaption');
    const alt = (img.getAttribute('alt') || '').trim();
    const missing = [];
    if (!caption || !caption.textContent.trim()) missing.push('caption');
    if (!caption || !caption.querySelector('.caption-number')) missing.push('number');
    if (alt.length < 12 || /\.(png|jpe?g|svg|gif)$/i.test(alt) || /[0-9a-f]{16}/i.test(alt) || alt === name) missing.push('alt text');
    if (missing.length) problems.push('figure without ' + missing.join(', ') + ': ' + name.slice(0, 40) + (alt ? ' (alt "' + alt.slice(0, 40) + '")' : ''));
  }
  // One verdict table schema and vocabulary.
  const schema = ['claim', 'tested under', 'verdict', 'evidence'];
  const verdicts = ['true', 'false', 'partly', 'harmful', 'useless', 'unnecessary', 'helps'];
  for (const table of article.querySelectorAll('table')) {
    const head = [...table.querySelectorAll('thead th, thead td')].map(c => c.textContent.trim().toLowerCase());
    if (!head.some(h => ['verdict', 'grade', 'verdicts'].includes(h))) continue;
    if (head.join('|') !== schema.join('|')) {
      problems.push('verdict table with columns "' + head.join(' | ') + '", not "Claim | Tested under | Verdict | Evidence"');
    }
    const column = head.findIndex(h => ['verdict', 'grade', 'verdicts'].includes(h));
    for (const row of table.querySelectorAll('tbody tr')) {
      const cell = row.children[column];
      const word = cell ? cell.textContent.trim() : '';
      if (!verdicts.includes(word)) problems.push('verdict "' + word.slice(0, 40) + '" is not one lower-case word of ' + verdicts.join(', '));
    }
  }
  // Head: a description, a title without the book's title twice, no placeholder links.
  const meta = document.querySelector('meta[name="description"]');
  if (!meta || (meta.getAttribute('content') || '').trim().length < 40) problems.push('no meta description (at least 40 characters)');
  const parts = document.title.split(' \u2014 ').map(t => t.trim());
  if (parts.length > 1 && parts[0] === parts[parts.length - 1]) problems.push('title repeats the book title: ' + document.title);
  for (const a of document.querySelectorAll('a[href]')) {
    if (/example\.(com|org)\/|\/OWNER\/|training-failures\/training-failures-book/.test(a.href)) {
      problems.push('link to a placeholder: ' + a.href);
    }
  }
  // Harness in the reader's way: a shown code cell made only of asserts and glue calls,
  // or an import from a private module (the harness folds them; notebooks import public names).
  for (const cell of article.querySelectorAll('div.cell')) {
    if (/\btag_(hide-input|hide-cell|remove-input|remove-cell)\b/.test(cell.className)) continue;
    const input = cell.querySelector('div.cell_input pre');
    if (!input) continue;
    const code = input.textContent;
    const statements = code.split('\n').filter(l => l.trim() && !/^\s|^#|^[)\]}]/.test(l));
    if (statements.length && statements.every(l => /^(assert\b|glue\()/.test(l))) {
      problems.push('harness cell shown to the reader: ' + statements[0].slice(0, 80));
    }
    const hidden = code.match(/^\s*(from companion(\.\w+)*\._\w+ import|import companion(\.\w+)*\._\w+)/m);
    if (hidden) problems.push('import from a private module shown: ' + hidden[0].trim().slice(0, 80));
  }
  // Text a reader should never meet: an install line for the registry's unrelated
  // "companion", raw LaTeX from the bibliography, a report's "target met", a file name
  // (ranking/zero_loss) where a chapter title belongs.
  const pageText = article.innerText;
  const install = pageText.match(/pip install\s+["']?companion(\[[^\]]*\])?["']?(?![\w.\/-])/);
  if (install) problems.push("install line for the registry's unrelated package: " + install[0]);
  const latex = /\{\\['"`~^=.a-zA-Z]|\\&/;
  const texts = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, .highlight, script, style, mjx-container, .math')) continue;
    if (latex.test(node.textContent)) {
      problems.push('raw LaTeX: ' + node.textContent.trim().slice(0, 80));
      break;
    }
  }
  const report = pageText.match(/\btarget (not )?met\b/i);
  if (report) problems.push('reads as an internal report: "' + report[0] + '"');
  for (const td of article.querySelectorAll('td')) {
    if (/^(ranking|rbm)\/[a-z0-9_]+$|^generic_failures$/.test(td.textContent.trim())) {
      problems.push('a file name where a chapter title belongs: ' + td.textContent.trim());
      break;
    }
  }
  // The API reference lists the library's names, never a private module's path.
  for (const dt of article.querySelectorAll('dt.sig[id]')) {
    if (/\._[a-z]/.test(dt.id)) { problems.push('API entry under a private path: ' + dt.id); break; }
  }
  // The landing page's Next goes to the first failure: the first chapter of the first part.
  if (document.querySelector('a.right-next') && document.querySelector('.bd-sidebar-primary nav p.caption')
      && !document.querySelector('a.left-prev')) {
    const first = document.querySelector('.bd-sidebar-primary nav p.caption ~ ul a[href]');
    const next = document.querySelector('a.right-next');
    if (first && new URL(first.href).pathname !== new URL(next.href).pathname) {
      problems.push('Next on the landing page goes to ' + new URL(next.href).pathname + ', not the first chapter');
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
    # Each problem once (a check may meet the same line in several boxes).
    return list(dict.fromkeys(problems))


def report(rel: str, viewport: dict[str, int], problems: list[str]) -> str:
    """One readable block per page: the page, the width, then one line per problem."""
    lines = [f"{rel} at {viewport['width']} px: {len(problems)} problem{'s' if len(problems) != 1 else ''}"]
    return "\n".join(lines + [f"  - {p}" for p in sorted(problems)])


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


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
@pytest.mark.parametrize("rel", PAGES)
def test_page_renders_cleanly(browser: Any, server: str, rel: str, viewport: dict[str, int]) -> None:
    problems = page_problems(browser, server, rel, viewport)
    if problems:
        pytest.fail(report(rel, viewport, problems), pytrace=False)


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
                                 "<pre style='overflow:hidden'>" + "x" * 400 + "</pre></div>")
    _page(tmp_path, "outside.html", "<script src='https://example.org/x.js'></script>")
    _page(tmp_path, "raw.html", "<p>The plateau is {glue:text}`plateau` here.</p>"
                                "<p>It reads <code>loss: {glue:text}</code>plateau`` on every epoch.</p>"
                                "<p>Glue it with <code>{glue:text}`name`</code> (a how-to, not a defect).</p>"
                                "<p>| gap | exact | ours |\n| --- | --- | --- |\n| 1 | 2 | 3 |</p>")
    _page(tmp_path, "pagewide.html", "<div style='width:2000px'>a row of cards too wide for any screen</div>")
    _page(tmp_path, "widecode.html", "<div class='cell_input'><div class='highlight'><pre style='overflow-x:auto'>"
                                     + "x = 1  # " + "y" * 200 + "</pre></div></div>")
    _page(tmp_path, "tip.html", "<div class='admonition tip' style='width:300px'><p>Tip</p><div class='highlight'>"
                                "<pre style='overflow:hidden'>" + "z" * 90 + "</pre></div></div>")
    _page(tmp_path, "wrapped.html", "<div class='cell_output' style='width:300px'><pre style='white-space:pre-wrap'>"
                                    + "word " * 40 + "</pre></div>")
    (tmp_path / "plot.png").write_bytes(_PNG)
    _page(tmp_path, "figure.html", "<div class='cell_output'><img src='plot.png' "
                                   "alt='../_images/7e3dc26ea7481d4036ff87b6ff72797e.png'></div>")
    _page(tmp_path, "verdict.html", "<table><thead><tr><th>Claim</th><th>Grade</th><th>Measured</th></tr></thead>"
                                    "<tbody><tr><td>a</td><td>Not measurable</td><td>1</td></tr></tbody></table>")
    (tmp_path / "head.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Book \u2014 Book</title></head><body><article>"
        "<a href='https://github.com/training-failures/training-failures-book'>repo</a></article></body></html>",
        encoding="utf-8")
    _page(tmp_path, "harness.html", "<div class='cell'><div class='cell_input'><pre>assert x == 1\n"
                                    "glue('x', x)\n</pre></div></div>"
                                    "<div class='cell'><div class='cell_input'><pre>from companion.ranking._data "
                                    "import group_lists\n</pre></div></div>")
    _page(tmp_path, "internal.html", "<p>pip install \"companion[keras3]\"</p>"
                                     "<p>[Carreira-Perpi{\\~n}{\\'a}n and Hinton 2005]</p><p>target met</p>"
                                     "<table><tr><td>ranking/zero_loss</td></tr></table>"
                                     "<dl><dt class='sig' id='companion.ranking._data.group_lists'>x</dt></dl>")
    (tmp_path / "landing.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        "<div class='bd-sidebar-primary'><nav><p class='caption'>Part I</p>"
        "<ul><li><a href='first.html'>first</a></li></ul></nav></div>"
        "<article><p>Welcome.</p></article><a class='right-next' href='setup.html'>Next</a></body></html>",
        encoding="utf-8")
    _page(tmp_path, "clean.html", "<p>Nothing wrong here.</p>"
                                  "<figure><img src='plot.png' alt='A loss curve that falls to the floor.'>"
                                  "<figcaption><span class='caption-number'>Fig. 1 </span>"
                                  "<span class='caption-text'>The loss falls.</span></figcaption></figure>")
    httpd, url = serve(tmp_path)
    yield tmp_path, url
    httpd.shutdown()


def test_guard_catches_broken_links(broken_site: tuple[Path, str]) -> None:
    problems = broken_links(broken_site[0])
    assert any("missing file 'missing.html'" in p for p in problems)
    assert any("missing anchor 'other.html#nowhere'" in p for p in problems)


# A 64 x 48 grey PNG: an image that loads.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000040000000300800000000842023"
    "c3000000254944415478daedcc411100000c0220a31bdd10fbed2000e9510402"
    "81402010080402c1d76030be005b6215e6350000000049454e44ae426082")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
@pytest.mark.parametrize("name, expected", [
    ("console.html", "console error: boom"),
    ("image.html", "image did not load"),
    ("image.html", "HTTP 404"),
    ("math.html", "math not typeset"),
    ("wide.html", "output wider than its column"),
    ("outside.html", "request to an outside host"),
    ("raw.html", "raw markup: The plateau is {glue:text}"),
    ("raw.html", "raw markup: a table shown as |-text"),
    ("raw.html", "raw markup: loss: {glue:text}"),
    ("pagewide.html", "page wider than the screen"),
    ("tip.html", "Tip or admonition code wider than its box"),
    ("wrapped.html", "output wrapped a second time by the browser"),
    ("figure.html", "figure without caption, number, alt text"),
    ("verdict.html", 'verdict table with columns "claim | grade | measured"'),
    ("verdict.html", 'verdict "Not measurable" is not one lower-case word'),
    ("head.html", "no meta description"),
    ("head.html", "title repeats the book title"),
    ("head.html", "link to a placeholder"),
    ("harness.html", "harness cell shown to the reader: assert x == 1"),
    ("harness.html", "import from a private module shown: from companion.ranking._data import"),
    ("internal.html", "install line for the registry's unrelated package"),
    ("internal.html", "raw LaTeX: [Carreira-Perpi"),
    ("internal.html", 'reads as an internal report: "target met"'),
    ("internal.html", "a file name where a chapter title belongs: ranking/zero_loss"),
    ("internal.html", "API entry under a private path: companion.ranking._data.group_lists"),
    ("landing.html", "Next on the landing page goes to /setup.html, not the first chapter"),
])
def test_guard_catches_page_defects(browser: Any, broken_site: tuple[Path, str], name: str,
                                    expected: str, viewport: dict[str, int]) -> None:
    problems = page_problems(browser, broken_site[1], name, viewport)
    assert any(expected in p for p in problems), problems


def test_guard_holds_code_lines_to_the_column_at_1280_and_lets_a_phone_scroll(
        browser: Any, broken_site: tuple[Path, str]) -> None:
    # 209 characters fit no column at 1280 px; on a phone the box scrolls on its own.
    assert any("code input wider than its box" in p
               for p in page_problems(browser, broken_site[1], "widecode.html", DESKTOP))
    assert not any("wider than its box" in p
                   for p in page_problems(browser, broken_site[1], "widecode.html", PHONE))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_guard_passes_a_clean_page(browser: Any, broken_site: tuple[Path, str], viewport: dict[str, int]) -> None:
    # Only the description is missing from the guard's minimal page.
    assert page_problems(browser, broken_site[1], "clean.html", viewport) == [
        "no meta description (at least 40 characters)"]


def test_guard_lets_inline_code_show_a_role(browser: Any, broken_site: tuple[Path, str]) -> None:
    problems = page_problems(browser, broken_site[1], "raw.html")
    assert not any("{glue:text}`name`" in p for p in problems), problems


def test_report_reads_one_line_per_problem() -> None:
    text = report("book/x.html", PHONE, ["b problem", "a problem"])
    assert text.splitlines() == ["book/x.html at 390 px: 2 problems", "  - a problem", "  - b problem"]


def test_guard_catches_a_chapter_list_that_does_not_open(browser: Any,
                                                         broken_site: tuple[Path, str]) -> None:
    _page(broken_site[0], "nosidebar.html", "<p>no sidebar</p>")
    assert chapter_list_opens(browser, broken_site[1], "nosidebar.html") != []
