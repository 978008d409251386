"""Options declared once on their dataclass: the flags of `deepvis optimize` and `deepvis dream` are
generated from the declarations, every flag name of before still works, defaults stay, limits are checked."""

from __future__ import annotations

import dataclasses

import pytest

from deepvis_app.cli.common import UserError
from deepvis_app.cli.dream_command import dream_config
from deepvis_app.cli.main import build_parser
from deepvis_app.cli.optimize_commands import config_from_args
from deepvis_app.core.unitvis.dream.config import DreamConfig
from deepvis_app.core.unitvis.optimize.config import OptimizeConfig, preset
from deepvis_app.settings.options import check_options, option_fields

# The flags the hand-written lists offered before the declarations (name: a valid value).
OLD_OPTIMIZE_FLAGS = {
    "objective": "channel", "param": "fft", "transforms": "standard", "steps": "7", "lr": "0.5", "seed": "3",
    "optimizer": "adam", "lr_policy": "progress", "max_lr": "9", "desired_prog": "1", "early_prog": "1",
    "late_prog_mult": "0.2", "decay_rate": "0.9", "decay": "0.1", "blur_radius": "1", "blur_every": "2",
    "small_val_percentile": "1", "small_norm_percentile": "1", "px_benefit_percentile": "1",
    "px_abs_benefit_percentile": "1", "alpha": "2", "p_reg": "1", "p_scale": "1", "beta": "2", "tv_reg": "1",
    "tv_reg_scale": "1", "tv_reg_step": "1", "tv_reg_step_iter": "5", "init_sd": "1", "render": "clip",
    "keep": "last",
}
OLD_DREAM_DEFAULTS = {
    "image_type": None, "target_layer": "L", "target_neuron": None, "initial_image": None,
    "initialization_scale": 1.0, "initialization_blur": 0.0, "batch_size": 1, "initial_size": None,
    "final_size": None, "num_sizes": 1, "resize_type": "geometric", "learning_rate": 1.0, "decay_rate": 0.95,
    "num_steps": 1000, "use_pixel_learning_rates": False, "amplify_l1_weight": 1.0, "amplify_l2_weight": 1.0,
    "amplify_grad_clip": 5.0, "seed": 0, "alpha": 6.0, "p_reg": 1e-4, "p_scale": 1.0, "alpha_aux": 6.0,
    "p_reg_aux": 0.0, "p_scale_aux": 1.0, "beta": 2.0, "tv_reg": 0.5, "tv_reg_scale": 1.0, "tv_reg_step": 0.0,
    "tv_reg_step_iter": 50, "output_file": "out.png", "rescale_image": False, "output_iter": 50,
    "iter_behavior": "save+print",
}
OPTIMIZE = ["optimize", "--layer", "x", "--units", "0", "--out", "o"]


def _parse(argv):
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("name, value", sorted(OLD_OPTIMIZE_FLAGS.items()))
def test_every_old_optimize_flag_is_accepted_in_both_spellings(name, value):
    for spelling in {name, name.replace("_", "-")}:
        args = _parse(OPTIMIZE + [f"--{spelling}", value])
        assert str(getattr(args, name)) in (value, str(float(value)) if value[0].isdigit() else value)


def test_unset_optimize_flags_keep_the_preset_and_set_ones_override_it():
    assert config_from_args(_parse(OPTIMIZE)) == preset("yosinski3")
    args = _parse(OPTIMIZE + ["--preset", "lucent", "--steps", "9", "--decorrelate", "--size", "40", "--tv-reg", "2"])
    assert config_from_args(args) == preset("lucent").replace(steps=9, size=(40, 40), tv_reg=2.0)


def test_every_config_field_has_a_flag_with_its_help():
    for command, cls in (("optimize", OptimizeConfig), ("dream", DreamConfig)):
        sub = build_parser()._subparsers._group_actions[0].choices[command]
        spellings = {spelling for action in sub._actions for spelling in action.option_strings}
        for field in option_fields(cls):
            assert {f"--{field.name}", f"--{field.name.replace('_', '-')}"} <= spellings, field.name
        assert len(option_fields(cls)) == len(dataclasses.fields(cls)), "every field is an option"
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["optimize"].format_help().split())
    assert "steps between TV increments" in help_text


def test_dream_flags_keep_cnn_vis_names_aliases_and_defaults():
    args = _parse(["dream", "--layer", "L"])
    assert {name: getattr(args, name) for name in OLD_DREAM_DEFAULTS} == OLD_DREAM_DEFAULTS
    assert dream_config(args) == DreamConfig(target_layer="L")
    args = _parse(["dream", "--target_layer", "L", "--unit", "3", "-o", "x.png", "--final-size", "x2",
                   "--amplify_l1_weight", "0.5", "--use-pixel-learning-rates"])
    config = dream_config(args)
    assert (config.image_type, config.target_neuron, config.final_size, args.output_file) == \
        ("amplify_neuron", 3, "x2", "x.png")
    assert config.amplify.l1 == 0.5 and config.use_pixel_learning_rates


def test_limits_and_choices_are_checked_from_the_declarations():
    with pytest.raises(ValueError, match="steps = 0: must be at least 1"):
        check_options(OptimizeConfig(steps=0))
    with pytest.raises(ValueError, match="optimizer = 'sgdx': choose from"):
        OptimizeConfig(optimizer="sgdx").validate()
    with pytest.raises(UserError, match="--tv_reg_step_iter = 0: must be at least 1"):
        config_from_args(_parse(OPTIMIZE + ["--tv-reg-step-iter", "0"]))
    with pytest.raises(UserError, match="--num_steps = 0: must be at least 1"):
        dream_config(_parse(["dream", "--layer", "L", "--num-steps", "0"]))
    with pytest.raises(UserError, match="--output_iter = 0: must be at least 1"):
        dream_config(_parse(["dream", "--layer", "L", "--output_iter", "0"]))
    with pytest.raises(UserError, match=r"--transforms = 'blur\(1\)'"):
        config_from_args(_parse(OPTIMIZE + ["--transforms", "blur(1)"]))
