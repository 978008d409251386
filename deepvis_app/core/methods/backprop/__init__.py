"""Back-projection from one unit of any layer to the input, with the ReLU rules of the toolbox.

One entry point, ``backprop_from_unit``, serves the GUI's backprop pane and the per-unit pipeline.
Methods (activation / max-pool backward rules; every other layer uses its true gradient):

====================  ======================================  ========================
method                ReLU backward (g upstream, x input)     max-pool backward
====================  ======================================  ========================
``gradient``          g * [x > 0]                             switches (argmax)
``deconv``            max(g, 0)                               switches
``guided``            g * [x > 0] * [g > 0]                   switches
``salinet``           g * [x > 0]                             switches
``desalinet``         g * [x > 0] * [g > 0]                   switches
====================  ======================================  ========================

SaliNet follows its definition (Mahendran & Vedaldi 2016, "Salient deconvolutional networks", and
DNN-Visualizer's README): backpropagation written as a reversed network, i.e. max-pool switches and
the forward ReLU mask, so it equals ``gradient``. DNN-Visualizer's *code* puts SaliNet's pooled signal
at the centre of the window instead (``locational_pooling=False``); that switch-free variant is
``unpool="window_centre"`` for any of the three reversed nets (deconv, salinet, desalinet). Their
other option, ``lrn="pass"``, is the original toolbox's ``lrn_param.deconv_ignore``: a
LocalResponseNorm passes the signal back unchanged instead of by its gradient (see `lrn`).

The rules reach every activation the forward executes (modules, reused modules, in-place and
functional calls) through ``ReluRuleMode``; ``rules`` defines them for ReLU6, SiLU, GELU, Hardswish,
Mish and LeakyReLU, with their sources. A forward that met none of them says so (``notices``).
"""

from deepvis_app.core.methods.backprop.backward import (
    BACKPROP_METHODS,
    LRN_BACKWARD,
    REVERSED_NETS,
    SEEDS,
    UNPOOLING,
    BackpropResult,
    ReversedNetOptions,
    backprop_from_unit,
    backward_rules,
    make_seed,
    reversed_net_rules,
)

__all__ = ["BACKPROP_METHODS", "LRN_BACKWARD", "REVERSED_NETS", "SEEDS", "UNPOOLING", "BackpropResult",
           "ReversedNetOptions", "backprop_from_unit", "backward_rules", "make_seed", "reversed_net_rules"]
