"""The optimize and dream run settings (`OptimizeConfig`, `DreamConfig`): what `validate` accepts and
refuses, the presets, `replace` and the amplification weights; written against the mutants of
`optimize/config.py` and `dream/config.py` (`scripts/mutate.sh`, docs/testing.md)."""

from __future__ import annotations

import math

import pytest

from deepvis_app.core.unitvis.dream.config import DreamConfig
from deepvis_app.core.unitvis.optimize.config import PRESETS, OptimizeConfig, preset


@pytest.mark.parametrize("changes", [
    {}, {"objective": "channel"}, {"objective": "amplify"}, {"push_spatial": (0, 0)}, {"push_spatial": (3, 5)},
    {"push_dir": -1.0}, {"push_dir": 0.5}, {"max_lr": math.inf}, {"transforms": "pad(4), jitter(2)"},
    {"lr": 1e-9}, {"steps": 1},
])
def test_validate_accepts_and_returns_the_same_config(changes):
    config = OptimizeConfig(**changes)
    assert config.validate() is config


@pytest.mark.parametrize("changes, message", [
    ({"objective": "neurons"}, r"objective = 'neurons': choose from channel, neuron, amplify \(or give"),
    ({"push_spatial": (1,)}, r"push_spatial = \(1,\): give ROW COL, two whole numbers >= 0"),
    ({"push_spatial": (1, 2, 3)}, "push_spatial"),
    ({"push_spatial": (-1, 2)}, "push_spatial"),
    ({"push_spatial": (2, -1)}, "push_spatial"),
    ({"push_dir": 0.0}, r"^push_dir = 0: use 1 \(maximize\) or -1 \(minimize\)$"),
    ({"lr": math.inf}, r"^lr = inf: must be a finite number$"),
    ({"lr": math.nan}, "lr = nan: must be a finite number"),
    ({"max_lr": math.nan}, "max_lr = nan"),
    ({"tv_reg": -math.inf}, "tv_reg = -inf"),
    ({"transforms": "wobble(3)"}, "transforms = 'wobble"),
    ({"steps": 0}, "steps = 0"),
    ({"optimizer": "sgdx"}, "optimizer = 'sgdx'"),
])
def test_validate_names_the_first_bad_field(changes, message):
    with pytest.raises(ValueError, match=message):
        OptimizeConfig(**changes).validate()


def test_presets_and_replace():
    assert preset("cnnvis") is PRESETS["cnnvis"]
    assert preset("lucent").optimizer == "adam" and preset("lucent").param == "fft"
    for name, config in PRESETS.items():
        assert config.validate() is config, name
    with pytest.raises(ValueError, match=r"unknown preset 'lucid' \(choices: yosinski1, yosinski2, yosinski3"):
        preset("lucid")
    changed = preset("yosinski3").replace(lr=3.0, steps=7)
    assert (changed.lr, changed.steps, changed.blur_radius) == (3.0, 7, 1.0)
    assert preset("yosinski3").lr == 100.0                      # replace makes a copy


def test_dream_config_amplify_weights_replace_and_validate():
    config = DreamConfig(amplify_l1_weight=0.25, amplify_l2_weight=3.0, amplify_grad_clip=7.5)
    weights = config.amplify
    assert (weights.l1, weights.l2, weights.clip) == (0.25, 3.0, 7.5)
    changed = config.replace(tv_reg=2.0, target_layer="layer1")
    assert (changed.tv_reg, changed.target_layer, changed.amplify_l1_weight) == (2.0, "layer1", 0.25)
    assert config.validate() is config
    with pytest.raises(ValueError, match="num_steps = 0"):
        DreamConfig(num_steps=0).validate()
    with pytest.raises(ValueError, match="tv_grad_operator = 'prewitt'"):
        DreamConfig(tv_grad_operator="prewitt").validate()
