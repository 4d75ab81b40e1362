"""companion: the code behind the book *Training failures, reproduced*.

Every chapter of the book shows a failure and fixes it with a few calls into
this package. The subpackages are

``companion.ranking``
    ListMLE: an exact, finite loss, list grouping and checks, chance level and
    tie floor, synthetic data and an SVMlight/LETOR loader (Part I).
``companion.rbm``
    A monitored Restricted Boltzmann Machine estimator and its exact
    likelihood (Part II).
``companion.plotting``
    The book's figures, in one style.

TensorFlow is imported only by the parts that need it (the ListMLE loss), so
``import companion`` and the RBM work without loading it.
"""

from __future__ import annotations

from companion._repro import perturbed, seed_everything
from companion._report import Table, glue, sig

__version__ = "0.1.0"
__all__ = ["seed_everything", "perturbed", "sig", "glue", "Table", "__version__"]
