"""What `make test-install-modern` runs in the fresh venv it installed the package into.

The package alone (no extras) must resolve NumPy 2 and import every public
module and name without TensorFlow; the names that need Keras must say so in
their ImportError. Run it with the fresh venv's Python, from any directory:
it fails if `companion` is imported from anywhere but that venv.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

MODULES = ["companion", "companion.ranking", "companion.rbm", "companion.diagnose", "companion.book",
           "companion.book.plotting"]


def main() -> int:
    import numpy

    assert int(numpy.__version__.split(".")[0]) >= 2, "expected NumPy 2, got " + numpy.__version__
    from importlib import metadata

    import companion

    dist = metadata.distribution("training-failures-companion")  # the distribution's name, not "companion"
    assert dist.version == companion.__version__, (dist.version, companion.__version__)
    where = Path(companion.__file__).resolve()
    assert Path(sys.prefix).resolve() in where.parents, (
        f"companion was imported from {where}, not from the venv at {sys.prefix} (is PYTHONPATH set?)")
    needs_keras = []
    for name in MODULES:
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", []):
            try:
                getattr(module, public)
            except ImportError as error:  # the Keras parts: the [keras3], [jax] or [tfr] extra
                assert "Keras" in str(error), (name, public, error)
                needs_keras.append(public)
    assert "tensorflow" not in sys.modules, "importing companion loaded TensorFlow"
    print("installed training-failures-companion", dist.version, "and imported", ", ".join(MODULES), "and their public names with NumPy", numpy.__version__, "on Python",
          sys.version.split()[0], "without TensorFlow; these need Keras:", ", ".join(sorted(set(needs_keras))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
