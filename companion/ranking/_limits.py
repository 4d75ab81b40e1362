"""The float32 limits of ListMLE: one module, one name per limit.

Derived in :doc:`/book/ranking/zero_loss` (:data:`ROUND_TO_ZERO_GAP`) and
:doc:`/book/ranking/unscaled_features` (the others), where each is then
measured on tensorflow-ranking. :func:`companion.ranking.check_lists`, the
doctor and the chapters read them from here.

NumPy only; nothing else from the package.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "FLT_MIN",
    "UNDERFLOW_GAP",
    "ROUND_TO_ZERO_GAP",
    "TFR_PAD_LOGIT",
    "PADDED_UNDERFLOW_SCORE",
    "EPSILON_BEST_GAP",
]

#: Smallest normal float32, 2**-126. TensorFlow on CPU flushes smaller
#: (subnormal) results to 0, so ``exp(x)`` is exactly 0 below ``ln(FLT_MIN)``.
FLT_MIN: float = float(np.finfo(np.float32).tiny)
#: ``-ln(FLT_MIN)`` = 87.34: once an item's score is this far below its list's
#: maximum, tensorflow-ranking's ``exp(s - max)`` underflows to 0 and the log
#: of its tail sum is -inf (NaN gradients). An underflow, not an overflow.
UNDERFLOW_GAP: float = -math.log(FLT_MIN)
#: ``24 ln 2`` = 16.64: from this gap on ``1 + exp(-gap)`` rounds to 1 in
#: float32 (the increment is at most half a unit in the last place, 2**-24).
#: So tensorflow-ranking's ListMLE gives a correctly ranked pair a loss of
#: exactly 0.0 and no gradient (companion's :class:`ListMLELoss` keeps the
#: tiny value), and the float32 sigmoid returns exactly 1.0 from this input
#: on (exactly 0.0 only below ``-UNDERFLOW_GAP``).
ROUND_TO_ZERO_GAP: float = 24.0 * math.log(2.0)
#: The logit tensorflow-ranking 0.5.5 gives padded items: ``ln(1e-10)``.
TFR_PAD_LOGIT: float = math.log(1e-10)
#: With padding, the padded logit ``ln(1e-10)`` sits :data:`UNDERFLOW_GAP`
#: below a best score of 87.34 - 23.03 = 64.31: from there the padding tail
#: turns the loss -inf, whatever the gaps among valid items.
PADDED_UNDERFLOW_SCORE: float = UNDERFLOW_GAP + TFR_PAD_LOGIT
#: ``ln(1e10) / 2`` = 11.51: where keras-rs' ``log(tail + 1e-10)`` formula has
#: its minimum for a correctly ranked pair (``exp(-gap) = 1e-10 * exp(gap)``).
EPSILON_BEST_GAP: float = -math.log(1e-10) / 2.0
