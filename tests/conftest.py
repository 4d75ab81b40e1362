"""Shared pytest set-up: quiet, deterministic TensorFlow before anything imports it.

MPLBACKEND is deliberately left alone: the notebook kernels that nbval starts
inherit this environment, and they need the inline backend to show figures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Let the tests import their helper modules (notebook_guard) by name.
sys.path.insert(0, str(Path(__file__).parent))
