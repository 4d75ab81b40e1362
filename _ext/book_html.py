"""The book's small additions to the HTML that Jupyter Book 1 writes.

Each fix was found by ``make test-browser`` (tests/browser/browser_check.py),
which fails again if it is undone.

* **Repeated scripts.** Jupyter Book 1.0.4 registers sphinx-thebe, whose set-up
  handler adds an inline script declaring ``const THEBE_JS_URL`` once per call;
  the handler runs twice in one build, so every page declared the constant
  twice and the browser threw "Identifier 'THEBE_JS_URL' has already been
  declared". Repeated scripts (same file or same inline body, same attributes)
  are dropped, keeping the first.
* **MathJax everywhere.** Sphinx adds MathJax only to pages where its math
  domain saw an equation, and it sees none in the notebooks that MyST-NB
  renders from stored outputs, so their math showed as raw TeX. The assets
  policy "always" puts MathJax on every page.
* **Bibliography labels.** Works are listed under author-year labels ("Hinton
  2010", as the citations read) instead of pybtex's "[Hin10]": the formatting
  style ``book_author_year`` registered here is pybtex's ``unsrt`` with such
  labels (``bibtex_default_style`` in ``_config.yml``). Names are decoded from
  LaTeX (``J{\\"a}rvelin`` reads "Järvelin", ``Q\\&A`` reads "Q&A").
* **Repository and launch buttons follow one setting.** ``repository.url`` in
  ``_config.yml``: when it is empty (or still a placeholder) the book shows no
  repository, issues or launch button, so no link points nowhere; when it is
  a real URL, the repository and issues buttons and Binder's launch button
  appear.
* **Verdict badges.** In every table whose header has a column ``Verdict``,
  each cell of that column that holds one verdict word (true, false, partly,
  harmful, useless, unnecessary, helps) gets the classes ``verdict
  verdict-<word>``; ``_static/book.css`` draws them as badges. This works on
  tables written in Markdown cells and on Markdown tables a cell displays
  (they are parsed by MyST: ``nb_render_markdown_format``).
* **Page titles and descriptions.** A page whose title is the book's title
  (the landing page) gets that title once in ``<title>``, not "Title — Title".
  Every page gets a ``<meta name="description">``: from the page itself (a
  ``description`` key in a Markdown page's front matter or in a notebook's
  metadata) or else from ``book_descriptions`` in ``_config.yml`` (document
  name to text). A page with neither is a build warning, so ``-W`` fails.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

#: The verdict vocabulary (BOOK-DESIGN.md): a claim is true, false or partly; a
#: remedy harmful, useless, unnecessary, helps or partly.
VERDICTS = ("true", "false", "partly", "harmful", "useless", "unnecessary", "helps")

#: Hosts of URLs that are placeholders, not a repository anyone can open.
_PLACEHOLDER_MARKERS = ("example.", "OWNER/", "training-failures/training-failures-book")


def _unique_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: Any) -> None:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {}) or {}
        # An inline script's filename is None or "" depending on who added it.
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted((str(k), str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the list is the builder's own, which other handlers append to.
    context["script_files"][:] = unique


def _repository_url(config: Any) -> str:
    options = config.html_theme_options or {}
    url = str(options.get("repository_url") or "").strip()
    if not url or any(marker in url for marker in _PLACEHOLDER_MARKERS):
        return ""
    return url


def _buttons_follow_repository(app: Any, config: Any) -> None:
    """Repository, issues and launch buttons only when a real URL is configured."""
    options = dict(config.html_theme_options or {})
    url = _repository_url(config)
    options["use_repository_button"] = bool(url)
    options["use_issues_button"] = bool(url)
    options["use_edit_page_button"] = False
    if not url:
        options.pop("repository_url", None)
        options["launch_buttons"] = {}
    config.html_theme_options = options
    templates = str(Path(__file__).parent / "templates")
    if templates not in config.templates_path:
        config.templates_path.insert(0, templates)


def _badge_verdicts(app: Any, doctree: Any, docname: str) -> None:
    """Mark the cells of every table's Verdict column with their verdict word."""
    from docutils import nodes

    for table in doctree.findall(nodes.table):
        head = next(iter(table.findall(nodes.thead)), None)
        body = next(iter(table.findall(nodes.tbody)), None)
        if head is None or body is None:
            continue
        header = next(iter(head.findall(nodes.row)), None)
        if header is None:
            continue
        names = [entry.astext().strip().lower() for entry in header.children]
        if "verdict" not in names:
            continue
        column = names.index("verdict")
        table["classes"].append("verdict-table")
        for row in body.findall(nodes.row):
            cells = row.children
            if column < len(cells):
                word = cells[column].astext().strip().lower()
                if word in VERDICTS:
                    cells[column]["classes"] += ["verdict", f"verdict-{word}"]


def _description(app: Any, pagename: str) -> str:
    metadata = app.env.metadata.get(pagename, {}) if app.env else {}
    text = metadata.get("description") or (app.config.book_descriptions or {}).get(pagename, "")
    return " ".join(str(text).split())


def _page_head(app: Any, pagename: str, templatename: str, context: dict[str, Any],
               doctree: Any) -> None:
    """One book title in <title>; a meta description on every page."""
    if doctree is None:  # search, genindex: Sphinx's own pages
        return
    title = html.unescape(str(context.get("title") or ""))
    context["book_title_only"] = title.strip() == str(context.get("docstitle") or "").strip()
    metatags = str(context.get("metatags") or "")
    if 'name="description"' in metatags:
        return
    text = _description(app, pagename)
    if not text:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "page %r has no description: add `description:` to its front matter (a notebook: "
            "to its metadata) or a line under book_descriptions in _config.yml", pagename,
            location=pagename)
        return
    context["metatags"] = metatags + f'\n<meta name="description" content="{html.escape(text)}" />'


def _register_author_year_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    def plain(text: str) -> str:
        """LaTeX accents and escapes to Unicode, braces dropped: 'J{\\"a}rvelin' -> 'Järvelin'."""
        import latexcodec  # noqa: F401  (registers the "latex" codec; a pybtex dependency)

        return str(text).encode("utf-8").decode("latex+utf8").replace("{", "").replace("}", "")

    class AuthorYearLabels(BaseLabelStyle):  # type: ignore[misc]
        """'Surname Year', 'Surname and Surname Year', 'Surname et al. Year'; a, b for repeats."""

        def format_labels(self, sorted_entries: Any) -> Any:
            labels = []
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [plain(" ".join(p.last_names)) for p in people]
                if not names:
                    field = entry.fields.get("organization") or entry.fields.get("title", entry.key)
                    who = plain(str(field)).split(":")[0]
                elif len(names) == 1:
                    who = names[0]
                elif len(names) == 2:
                    who = f"{names[0]} and {names[1]}"
                else:
                    who = f"{names[0]} et al."
                labels.append(f"{who} {entry.fields.get('year', 'n.d.')}")
            seen: dict[str, int] = {}
            for label in labels:
                seen[label] = seen.get(label, 0) + 1
            count: dict[str, int] = {}
            for label in labels:
                if seen[label] > 1:
                    count[label] = count.get(label, 0) + 1
                    yield label + "abcdefghijklmnopqrstuvwxyz"[count[label] - 1]
                else:
                    yield label

    class AuthorYearStyle(Unsrt):  # type: ignore[misc]
        default_label_style = "book_author_year"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "book_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "book_author_year", AuthorYearStyle)


_register_author_year_style()


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("book_descriptions", {}, "html")
    app.set_html_assets_policy("always")
    app.connect("config-inited", _buttons_follow_repository)
    app.connect("doctree-resolved", _badge_verdicts)
    app.connect("html-page-context", _page_head)
    # Last, after every other handler has added its scripts.
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
