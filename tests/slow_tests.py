"""Tests measured over ~3 s (setup + call + teardown) in the one `--durations` run of `-m "not slow"` on
the shared 2-core machine (load about 5), which got through the first 318 of 1557 tests (tests/cli and the
start of tests/core) in 22 minutes: these 49 took 1130 s of the 1184. The root conftest marks them `slow`.
A name without "[...]" covers every case of a parametrized test. The rest of the suite was not measured:
mark a slow test there with `@pytest.mark.slow` where it is written, or add it here."""

from __future__ import annotations

MEASURED_SLOW = frozenset({
    'tests/cli/test_attribute_cli.py::test_an_out_of_range_target_or_unit_is_one_line[args0---target 5000 is out of range: the model has 1000 classes (0..999)]',  # noqa: E501
    "tests/cli/test_attribute_cli.py::test_an_out_of_range_target_or_unit_is_one_line[args1---unit 128 is out of range: layer 'layer2.0' has 128 units (0..127)]",  # noqa: E501
    "tests/cli/test_attribute_cli.py::test_an_out_of_range_target_or_unit_is_one_line[args2---unit -1 is out of range: layer 'layer3' has 256 units (0..255)]",  # noqa: E501
    'tests/cli/test_attribute_cli.py::test_cli_rejects_a_bad_npy',
    'tests/cli/test_attribute_cli.py::test_cli_unpool_reaches_the_reversed_nets',
    'tests/cli/test_attribute_cli.py::test_every_new_method_is_a_choice_and_its_flags_reach_it',
    'tests/cli/test_attribute_cli.py::test_faithfulness_and_randomization_check_are_printed_and_in_the_json',
    'tests/cli/test_attribute_cli.py::test_view_scale_flags_shape_the_picture',
    'tests/cli/test_cli_promise.py::test_internal_error_in_a_real_process',
    'tests/cli/test_cli_promise.py::test_reader_closing_the_pipe_ends_quietly[args1]',
    'tests/cli/test_core_cli.py::test_classify_json',
    'tests/cli/test_core_cli.py::test_layers_json_shape_contract',
    'tests/cli/test_core_cli.py::test_unreadable_image_is_named',
    'tests/cli/test_core_cli.py::test_user_errors_exit_2_with_one_message[args0-/no/such.jpg: no such file]',
    'tests/cli/test_core_cli.py::test_user_errors_exit_2_with_one_message[args2-weights file /no/w.pth does not exist]',
    "tests/cli/test_core_cli.py::test_user_errors_exit_2_with_one_message[args3-model 'nosuchmodel']",
    'tests/cli/test_dream_cnnvis_cli.py::test_cnn_vis_example_commands_make_a_visible_dream[example7]',
    'tests/cli/test_dream_cnnvis_cli.py::test_default_options_make_a_visible_dream_in_few_steps',
    'tests/cli/test_dream_cnnvis_cli.py::test_gpu_flag',
    'tests/cli/test_dream_cnnvis_cli.py::test_mean_image_sets_the_grey_of_the_noise',
    'tests/cli/test_dream_cnnvis_cli.py::test_plot_pix_plots_cnn_vis_pixels_every_step',
    'tests/cli/test_dream_cnnvis_cli.py::test_show_size_reaches_the_figure',
    'tests/cli/test_dream_cnnvis_cli.py::test_stronger_tv_gives_a_smoother_dream_and_stronger_p_norm_a_closer_one',
    'tests/cli/test_find_max_min_cli.py::test_search_min_and_summaries_write_their_files',
    'tests/cli/test_optimize_cli.py::test_dream_multiscale_from_sample_image_saves_iterations',
    'tests/cli/test_optimize_cli.py::test_dream_neuron_from_noise_and_errors',
    'tests/cli/test_optimize_cli.py::test_optimize_bad_input_is_a_user_error[args0-no such layer]',
    'tests/cli/test_optimize_cli.py::test_optimize_bad_input_is_a_user_error[args1-unit 40 out of range]',
    'tests/cli/test_optimize_cli.py::test_optimize_bad_input_is_a_user_error[args2-bad range]',
    'tests/cli/test_optimize_cli.py::test_optimize_bad_input_is_a_user_error[args3-not a unit]',
    'tests/cli/test_optimize_cli.py::test_optimize_writes_units_sprite_and_values',
    'tests/cli/test_optimize_cli.py::test_saved_optimized_image_reproduces_the_recorded_objective',
    'tests/cli/test_optimize_output_template.py::test_bad_template_is_one_clear_line_and_nothing_is_written[%(layer)s-gives several units the same name]',  # noqa: E501
    'tests/cli/test_optimize_output_template.py::test_template_names_each_units_image_and_info',
    'tests/cli/test_optimize_output_template.py::test_the_originals_default_template_and_field_names',
    'tests/cli/test_output_kinds_cli.py::test_a_class_without_pixels_is_one_line',
    'tests/cli/test_output_kinds_cli.py::test_segmentation_region_map_equals_autograd',
    'tests/cli/test_unitvis_cli.py::test_find_max_lists_oversized_images_and_says_when_state_is_discarded',
    'tests/cli/test_unitvis_cli.py::test_pipeline_end_to_end',
    'tests/core/test_attribution.py::test_occlusion_equals_captum[4-4-0.5-1]',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_equals_grad_cam',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_equals_grad_cam[mobilenet_v3_small-layercam-LayerCAM]',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_equals_grad_cam[mobilenet_v3_small-xgradcam-XGradCAM]',
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[mobilenet_v3_small-eigengradcam-EigenGradCAM-{}]',  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[mobilenet_v3_small-hirescam-HiResCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[mobilenet_v3_small-layercam-LayerCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[mobilenet_v3_small-xgradcam-XGradCAM-{'eigen_smooth': True}]",  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[mobilenet_v3_small-hirescam-HiResCAM]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[mobilenet_v3_small-layercam-LayerCAM]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[mobilenet_v3_small-xgradcam-XGradCAM]',  # noqa: E501
})
