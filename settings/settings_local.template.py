"""Your own settings: copy to settings/settings_local.py (git-ignored) and edit.

Any name from `deepvis settings` may be assigned here; it overrides the model's settings.py and
is overridden by `--set key=value`. Unknown names are errors. Relative paths are resolved
against this folder. Helper names must start with `_`.
"""

# model = "efficientnet_lite0"          # or "torchvision:resnet18", or "mypkg.nets:build"
# weights = "/path/to/weights.pth"
# device = "auto"
# static_files_dir = "~/Pictures/test-images"
# capture_device = 0                    # open the webcam at start
# boost_indiv_choices = (0, .3, .5, .8, 1)
# key_overrides = {"toggle_help": ("h", "F1")}
