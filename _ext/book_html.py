"""Small fixes to the HTML that Jupyter Book 1 writes, found by ``make test-browser``.

Jupyter Book 1.0.4 registers sphinx-thebe, whose set-up handler adds an inline
script declaring ``const THEBE_JS_URL`` once per call; the handler runs twice
in one build (once with filename None, once with ""), so every page declared
the constant twice and the browser threw "Identifier 'THEBE_JS_URL' has
already been declared". This extension drops
repeated scripts from each page (same file or same inline body, same
attributes), keeping the first.

Sphinx adds MathJax only to pages where its math domain saw an equation, and
it sees none in the notebooks that MyST-NB renders from stored outputs, so
their math (``$10^{-4}$``) showed as raw TeX. The assets policy "always" puts
MathJax on every page.

The bibliography lists works under author-year labels ("Hinton 2010", as the
citations read) instead of pybtex's "[Hin10]": the formatting style
``book_author_year`` registered here is pybtex's ``unsrt`` with such labels
(``bibtex_default_style`` in ``_config.yml``).
"""

from __future__ import annotations

from typing import Any


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


def _register_author_year_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):  # type: ignore[misc]
        """'Surname Year', 'Surname and Surname Year', 'Surname et al. Year'; a, b for repeats."""

        def format_labels(self, sorted_entries: Any) -> Any:
            labels = []
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [" ".join(p.last_names) for p in people]
                if not names:
                    who = str(entry.fields.get("organization") or entry.fields.get("title", entry.key)).split(":")[0]
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
    app.set_html_assets_policy("always")
    # Last, after every other handler has added its scripts.
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


