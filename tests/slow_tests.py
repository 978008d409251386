"""Tests marked `slow` by measurement (the root conftest applies the marker; a name without "[...]" covers
every case of a parametrized test). Mark a new slow test with `@pytest.mark.slow` where it is written, or
add it here.

`MEASURED_SLOW`: over ~3 s (setup + call + teardown) in a first `--durations` run of `-m "not slow"` on the
shared 2-core machine (load about 5), which got through the first 318 of 1557 tests in 22 minutes: these 49
took 1130 s of the 1184.

`MEASURED_SLOW_2`: over 1.5 s in a whole `-m "not slow"` run on 2026-12-06 (2149 tests, the shared 2-core
machine, load 12 falling to 2 during the run; per-test times of setup + call + teardown): these 153 took
2798 s of the 2968 s of test time; the other 1996 took 170 s. Mostly the method oracles on torchvision
models (test_attribution_cam_family, _registry, _captum_more) and the CLI commands run in a subprocess.
A module- or session-scoped fixture costs its first user: with that test marked, the next one pays it
(the last 7 entries)."""

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

MEASURED_SLOW_2 = frozenset({
    'tests/cli/test_attribute_cli.py::test_a_bad_output_path_is_refused_before_the_model_loads[.-is a directory]',
    'tests/cli/test_cli_progress.py::test_no_bar_when_stderr_is_not_a_terminal',
    'tests/cli/test_cli_progress.py::test_optimize_and_dream_show_bars_on_a_terminal',
    'tests/cli/test_cli_progress.py::test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal[args0-occlusion]',  # noqa: E501
    'tests/cli/test_cli_progress.py::test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal[args2-scorecam]',  # noqa: E501
    'tests/cli/test_cli_progress.py::test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal[args3-occlusion, every class]',  # noqa: E501
    'tests/cli/test_cli_progress.py::test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal[args4-faithfulness]',  # noqa: E501
    'tests/cli/test_cli_progress.py::test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal[args5-randomization check]',  # noqa: E501
    'tests/cli/test_cli_promise.py::test_mean_count_and_missing_layers_name_the_file',
    "tests/cli/test_core_cli.py::test_user_errors_exit_2_with_one_message[args1-did you mean 'fast_move_dist']",
    'tests/cli/test_dream_cnnvis_cli.py::test_cnn_vis_example_commands_make_a_visible_dream[example10]',
    'tests/cli/test_hostile_cli2.py::test_an_infinite_objective_weight_is_refused',
    'tests/cli/test_hostile_cli2.py::test_template_copies_are_written_for_units_already_done',
    'tests/cli/test_optimize_objective_cli.py::test_diversity_batch_and_snapshots',
    'tests/cli/test_optimize_objective_cli.py::test_original_optimize_image_flags_are_aliases',
    'tests/cli/test_optimize_objective_cli.py::test_unit_diversity_snapshots_and_minimizing',
    'tests/cli/test_output_kinds_cli.py::test_a_two_input_network_gets_a_map_on_each_image',
    'tests/cli/test_output_kinds_cli.py::test_layers_names_the_explained_output',
    'tests/cli/test_unitvis_options_cli.py::test_file_list_sum_ranking_and_crop_options',
    'tests/core/test_attribution.py::test_gradcam_equals_captum[act2]',
    'tests/core/test_attribution.py::test_gradcam_equals_captum[conv1]',
    'tests/core/test_attribution.py::test_integrated_gradients_completeness',
    'tests/core/test_attribution.py::test_integrated_gradients_equal_captum[riemann_left]',
    'tests/core/test_attribution.py::test_occlusion_equals_captum[5-3-0.0-7]',
    'tests/core/test_attribution_cam_family.py::test_ablationcam_equals_grad_cam[mobilenet_v3_small]',
    'tests/core/test_attribution_cam_family.py::test_ablationcam_equals_grad_cam[regnet_x_400mf]',
    'tests/core/test_attribution_cam_family.py::test_ablationcam_equals_grad_cam[shufflenet_v2_x0_5]',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_reports_after_each_augmentation',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_wraps_any_cam_function_such_as_gradcam[mobilenet_v3_small]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_wraps_any_cam_function_such_as_gradcam[regnet_x_400mf]',
    'tests/core/test_attribution_cam_family.py::test_aug_smooth_wraps_any_cam_function_such_as_gradcam[shufflenet_v2_x0_5]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[mobilenet_v3_small-eigencam-EigenCAM-{}]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[regnet_x_400mf-eigencam-EigenCAM-{}]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[regnet_x_400mf-eigengradcam-EigenGradCAM-{}]',  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[regnet_x_400mf-hirescam-HiResCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[regnet_x_400mf-layercam-LayerCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[regnet_x_400mf-xgradcam-XGradCAM-{'eigen_smooth': True}]",  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[shufflenet_v2_x0_5-eigencam-EigenCAM-{}]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[shufflenet_v2_x0_5-eigengradcam-EigenGradCAM-{}]',  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[shufflenet_v2_x0_5-hirescam-HiResCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[shufflenet_v2_x0_5-layercam-LayerCAM-{'eigen_smooth': True}]",  # noqa: E501
    "tests/core/test_attribution_cam_family.py::test_eigen_maps_equal_grad_cam_up_to_the_components_sign[shufflenet_v2_x0_5-xgradcam-XGradCAM-{'eigen_smooth': True}]",  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_fullgrad_eigen_smooth_equals_grad_cam_up_to_sign[mobilenet_v3_small]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_fullgrad_eigen_smooth_equals_grad_cam_up_to_sign[regnet_x_400mf]',
    'tests/core/test_attribution_cam_family.py::test_fullgrad_eigen_smooth_equals_grad_cam_up_to_sign[shufflenet_v2_x0_5]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_fullgrad_equals_grad_cam[mobilenet_v3_small]',
    'tests/core/test_attribution_cam_family.py::test_fullgrad_equals_grad_cam[regnet_x_400mf]',
    'tests/core/test_attribution_cam_family.py::test_fullgrad_equals_grad_cam[shufflenet_v2_x0_5]',
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[regnet_x_400mf-hirescam-HiResCAM]',
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[regnet_x_400mf-layercam-LayerCAM]',
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[regnet_x_400mf-xgradcam-XGradCAM]',
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[shufflenet_v2_x0_5-hirescam-HiResCAM]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[shufflenet_v2_x0_5-layercam-LayerCAM]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_gradient_cams_equal_grad_cam[shufflenet_v2_x0_5-xgradcam-XGradCAM]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_perturbation_cams_report_partial_maps_and_resume_after_a_cancel[ablationcam]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_perturbation_cams_report_partial_maps_and_resume_after_a_cancel[scorecam]',  # noqa: E501
    'tests/core/test_attribution_cam_family.py::test_scorecam_equals_grad_cam[mobilenet_v3_small]',
    'tests/core/test_attribution_cam_family.py::test_scorecam_equals_grad_cam[regnet_x_400mf]',
    'tests/core/test_attribution_cam_family.py::test_scorecam_equals_grad_cam[shufflenet_v2_x0_5]',
    'tests/core/test_attribution_cam_family.py::test_unit_objective_equals_grad_cam_on_the_channel_sum[scorecam-ScoreCAM]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_deeplift_equals_captum_on_relu_networks',
    'tests/core/test_attribution_captum_more.py::test_deeplift_on_shufflenet_sums_to_the_output_difference',
    'tests/core/test_attribution_captum_more.py::test_deeplift_rescales_hardswish_and_hardsigmoid_as_captum_would',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[mobilenet_v3_small-global_generators-0.0]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[mobilenet_v3_small-global_generators-0.1]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[mobilenet_v3_small-seed_option-0.0]',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[mobilenet_v3_small-seed_option-0.1]',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[regnet_x_400mf-global_generators-0.0]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[regnet_x_400mf-global_generators-0.1]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[regnet_x_400mf-seed_option-0.0]',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[regnet_x_400mf-seed_option-0.1]',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[shufflenet_v2_x0_5-global_generators-0.0]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_input_x_gradient_equals_captum[mobilenet_v3_small]',
    'tests/core/test_attribution_captum_more.py::test_input_x_gradient_equals_captum[regnet_x_400mf]',
    'tests/core/test_attribution_captum_more.py::test_input_x_gradient_equals_captum[shufflenet_v2_x0_5]',
    'tests/core/test_attribution_captum_more.py::test_input_x_gradient_of_a_unit_equals_captum_on_the_channel_sum[mobilenet_v3_small]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[mobilenet_v3_small-gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[mobilenet_v3_small-input_x_gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[mobilenet_v3_small-input_x_gradient-vargrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-gradient-smoothgrad]',
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-gradient-vargrad]',
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-input_x_gradient-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-input_x_gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[regnet_x_400mf-input_x_gradient-vargrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-gradient-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-gradient-vargrad]',
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-input_x_gradient-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-input_x_gradient-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[shufflenet_v2_x0_5-input_x_gradient-vargrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_over_slower_and_layer_methods_equals_captum[integrated_gradients-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_over_slower_and_layer_methods_equals_captum[integrated_gradients-smoothgrad_sq]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_reports_and_resumes_with_the_same_noise',
    'tests/core/test_attribution_progress.py::test_a_cancelled_job_resumes_where_it_stopped[occlusion-options0]',
    'tests/core/test_attribution_progress.py::test_a_cancelled_job_resumes_where_it_stopped[smoothgrad-options1]',
    'tests/core/test_attribution_progress.py::test_occlusion_shows_the_coarse_map_first',
    'tests/core/test_attribution_progress.py::test_partial_maps_arrive_and_the_final_map_is_the_direct_one[integrated_gradients-options2]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_ablationcam_by_name_equals_grad_cam[mobilenet_v2]',
    'tests/core/test_attribution_registry.py::test_aug_smooth_by_name_equals_grad_cam[mnasnet0_5]',
    'tests/core/test_attribution_registry.py::test_aug_smooth_by_name_equals_grad_cam[mobilenet_v2]',
    'tests/core/test_attribution_registry.py::test_eigen_maps_by_name_equal_grad_cam_up_to_sign[mnasnet0_5-eigencam-EigenCAM-options0]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_eigen_maps_by_name_equal_grad_cam_up_to_sign[mnasnet0_5-eigengradcam-EigenGradCAM-options1]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_eigen_maps_by_name_equal_grad_cam_up_to_sign[mnasnet0_5-xgradcam-XGradCAM-options2]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_fullgrad_by_name_equals_grad_cam[mnasnet0_5-plain]',
    'tests/core/test_attribution_registry.py::test_fullgrad_by_name_equals_grad_cam[mobilenet_v2-plain]',
    'tests/core/test_attribution_registry.py::test_gradcam_and_plus_plus_smoothing_by_name_equal_grad_cam[mnasnet0_5-gradcam++-GradCAMPlusPlus]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_gradcam_and_plus_plus_smoothing_by_name_equal_grad_cam[mnasnet0_5-gradcam-GradCAM]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_gradcam_and_plus_plus_smoothing_by_name_equal_grad_cam[mobilenet_v2-gradcam++-GradCAMPlusPlus]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_gradcam_and_plus_plus_smoothing_by_name_equal_grad_cam[mobilenet_v2-gradcam-GradCAM]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_gradient_cams_by_name_equal_grad_cam[mnasnet0_5-hirescam-HiResCAM]',
    'tests/core/test_attribution_registry.py::test_gradient_cams_by_name_equal_grad_cam[mnasnet0_5-layercam-LayerCAM]',
    'tests/core/test_attribution_registry.py::test_gradient_cams_by_name_equal_grad_cam[mnasnet0_5-xgradcam-XGradCAM]',
    'tests/core/test_attribution_registry.py::test_gradient_shap_by_name_equals_captum[mnasnet0_5]',
    'tests/core/test_attribution_registry.py::test_gradient_shap_by_name_equals_captum[mobilenet_v2]',
    'tests/core/test_attribution_registry.py::test_input_x_gradient_by_name_equals_captum[mnasnet0_5]',
    'tests/core/test_attribution_registry.py::test_input_x_gradient_by_name_equals_captum[mobilenet_v2]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mnasnet0_5-smoothgrad]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mnasnet0_5-smoothgrad_sq]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mnasnet0_5-vargrad]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mobilenet_v2-smoothgrad]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mobilenet_v2-smoothgrad_sq]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_by_name_equals_captum[mobilenet_v2-vargrad]',
    'tests/core/test_attribution_registry.py::test_noise_tunnel_over_a_cam_by_name_is_a_layer_map_equal_to_captum[mobilenet_v2]',  # noqa: E501
    'tests/core/test_attribution_registry.py::test_scorecam_by_name_equals_grad_cam[mnasnet0_5]',
    'tests/core/test_attribution_registry.py::test_scorecam_by_name_equals_grad_cam[mobilenet_v2]',
    'tests/core/test_attribution_registry.py::test_the_apps_method_cycle_reaches_every_new_method_and_shows_its_map',
    'tests/core/test_attribution_torchvision.py::test_cam_family[alexnet-guided_gradcam]',
    'tests/core/test_attribution_torchvision.py::test_cam_family[resnet18-guided_gradcam]',
    'tests/core/test_attribution_torchvision.py::test_occlusion[alexnet]',
    'tests/core/test_attribution_torchvision.py::test_occlusion[resnet18]',
    'tests/core/test_attribution_torchvision.py::test_occlusion[squeezenet1_1]',
    'tests/core/test_backprop_activations.py::test_torchvision_architectures_match_references[convnext_tiny-deconv]',
    'tests/core/test_backprop_activations.py::test_torchvision_architectures_match_references[convnext_tiny-guided]',
    'tests/core/test_backprop_activations.py::test_torchvision_architectures_match_references[efficientnet_b0-deconv]',
    'tests/core/test_backprop_activations.py::test_torchvision_architectures_match_references[efficientnet_b0-guided]',
    'tests/core/test_backprop_torchvision.py::test_output_and_inner_layer_equal_captum[alexnet-gradient]',
    'tests/core/test_cppn.py::test_a_short_cppn_optimization_raises_the_objective',
    'tests/core/test_find_max.py::test_oversized_images_are_listed_with_the_problem_and_skipped[1]',
    'tests/core/test_method_contract.py::test_every_method_is_deterministic_given_its_seed[maxpool_cnn-noise_tunnel]',
    'tests/core/test_occlusion_maps.py::test_all_classes_from_the_command_line',
    'tests/core/test_optimize.py::test_optimized_image_beats_dataset_top1',
    'tests/core/test_output_kinds_app.py::test_a_drag_on_the_input_sets_the_region_and_the_map_follows_it',
    'tests/core/test_session.py::test_a_message_does_not_stay_forever',
    'tests/core/test_session.py::test_input_keys_reach_the_inputs',
    'tests/core/test_transformers.py::test_cnns_are_not_reshaped',
    'tests/core/test_transformers.py::test_swin_layers_are_discovered_channels_first',
    'tests/core/test_transformers.py::test_token_grid_setting_overrides_per_prefix_and_is_validated',
    'tests/core/test_transformers.py::test_vit_layers_are_discovered_as_patch_grids_and_tapped_as_the_tokens_reshaped',
    'tests/gui/test_paint_refcount.py::test_each_pane_paints_without_losing_none_references[7]',
    'tests/gui/test_qt_free_and_cli.py::test_non_gui_modules_import_without_qt',
    'tests/gui/test_qt_free_and_cli.py::test_screenshot_mode_saves_the_window_after_keys_at_device_pixel_ratio_2',
    'tests/gui/test_screenshot_deadline.py::test_the_deadline_starts_after_after_ms',
    # over 3 s in the check run after the 153 above (2091 tests, 165 s): a test added since, and tests that
    # then paid their module's model loading
    'tests/cli/test_attribute_cli.py::test_every_attribution_method_is_a_choice_and_its_flags_reach_it',
    'tests/core/test_attribution_captum_more.py::test_gradient_shap_equals_captum[shufflenet_v2_x0_5-seed_option-0.0]',
    'tests/core/test_attribution_captum_more.py::test_input_x_gradient_of_a_unit_equals_captum_on_the_channel_sum[regnet_x_400mf]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[mobilenet_v3_small-gradient-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_equals_captum[mobilenet_v3_small-gradient-vargrad]',
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_over_slower_and_layer_methods_equals_captum[gradcam-smoothgrad]',  # noqa: E501
    'tests/core/test_attribution_captum_more.py::test_noise_tunnel_over_slower_and_layer_methods_equals_captum[integrated_gradients-vargrad]',  # noqa: E501
})
