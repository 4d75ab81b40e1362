"""pytest set-up for the notebooks that nbval checks (book/**/*.ipynb).

nbval compares every text output strictly but never a figure's pixels: its
default skip list holds ``image/png`` and ``image/jpeg``, because anti-aliasing
and font rasterisation differ between machines. A figure placed with
``{glue:figure}`` is stored under myst-nb's glue mime type,
``application/papermill.record/image/png``, which nbval's list does not name,
so its PNG bytes were compared too. Skip them exactly as nbval skips an inline
figure. The glued figure's text (``<Figure size ... with N Axes>``) and every
number the chapters print are still compared; the figures' data are asserted in
the cells that draw them.
"""

from __future__ import annotations

try:
    from nbval import plugin as _nbval
except ImportError:  # an environment without nbval checks no notebook
    _nbval = None

_GLUED_IMAGES = (
    "application/papermill.record/image/png",
    "application/papermill.record/image/jpeg",
    "application/papermill.record/image/svg+xml",
)


def _skip_glued_images(init):  # type: ignore[no-untyped-def]
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        self.skip_compare = tuple(self.skip_compare) + _GLUED_IMAGES

    return __init__


if _nbval is not None and not getattr(_nbval.IPyNbFile, "_companion_glued_images", False):
    _nbval.IPyNbFile.__init__ = _skip_glued_images(_nbval.IPyNbFile.__init__)
    _nbval.IPyNbFile._companion_glued_images = True
