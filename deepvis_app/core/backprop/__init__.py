"""Back-projection from one unit of any layer to the input, with the ReLU rules of the toolbox.

One entry point, ``backprop_from_unit``, serves the GUI's backprop pane and the per-unit pipeline.
Methods (ReLU / max-pool backward rules; every other layer uses its true gradient):

====================  ======================================  ========================
method                ReLU backward (g upstream, x input)     max-pool backward
====================  ======================================  ========================
``gradient``          g * [x > 0]                             switches (argmax)
``deconv``            max(g, 0)                               switches
``guided``            g * [x > 0] * [g > 0]                   switches
``salinet``           g * [x > 0]                             centre of window
``desalinet``         g * [x > 0] * [g > 0]                   switches
====================  ======================================  ========================

The rules reach every ReLU the forward executes (modules, reused modules, in-place and functional
calls) through ``ReluRuleMode``; see ``rules`` for ReLU6.
"""

from deepvis_app.core.backprop.engine import (
    BACKPROP_METHODS,
    SEEDS,
    BackpropResult,
    backprop_from_unit,
    backward_rules,
    make_seed,
)

__all__ = ["BACKPROP_METHODS", "SEEDS", "BackpropResult", "backprop_from_unit", "backward_rules", "make_seed"]
