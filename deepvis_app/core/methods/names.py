"""The back-pane methods' names, in the registry's order, without importing torch.

Why a module of its own: `deepvis keys` prints the key table, whose `N`/`B` line names the method
cycle, and it must not pay for torch (seconds and hundreds of MB) to print text. The registry
(`core.methods.registry`, which imports every method and so torch) is the truth; this tuple is its
torch-free copy, and tests/core/test_method_contract.py fails when the two differ, so a method
added to the registry and forgotten here is caught.
"""

from __future__ import annotations

METHOD_NAMES: tuple[str, ...] = (
    "gradient", "deconv", "guided", "salinet", "desalinet",
    "occlusion", "occlusion_layer", "smoothgrad", "integrated_gradients",
    "gradcam", "gradcam++", "guided_gradcam", "hirescam", "xgradcam", "layercam", "eigencam", "eigengradcam",
    "scorecam", "ablationcam", "fullgrad", "input_x_gradient", "gradient_shap", "deeplift", "attention_rollout",
    "noise_tunnel",
)
