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


def setup(app: Any) -> dict[str, Any]:
    app.set_html_assets_policy("always")
    # Last, after every other handler has added its scripts.
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


