"""companion: the code behind the book *Training failures, reproduced*.

Every chapter of the book shows a failure and fixes it with a few calls into
this package. The subpackages are

``companion.ranking``
    ListMLE: an exact, finite loss, list grouping and checks, chance level and
    tie floor, synthetic data and an SVMlight/LETOR loader (Part I).
``companion.rbm``
    A monitored Restricted Boltzmann Machine estimator and its exact
    likelihood (Part II).
``companion.diagnose``
    The doctor: names the cause of a failing run, with its evidence, fix and
    chapter (Part III).
``companion.book``
    The book's own harness (trials over seeds, grading, gluing figures into
    the prose, plotting). The library never imports it.

:func:`check_file` (``python -m companion check FILE``) checks a ranking file
before any training. TensorFlow is imported only by the parts that need it
(the ListMLE loss), so ``import companion`` and the RBM work without loading
it.
"""

from __future__ import annotations

from companion._check import CheckReport, check_file
from companion._repro import perturbed, seed_everything

__version__ = "0.1.0"
__all__ = ["seed_everything", "perturbed", "check_file", "CheckReport", "__version__"]
