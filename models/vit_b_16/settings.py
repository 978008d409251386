"""torchvision vit_b_16 (ViT-B/16, ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model vit_b_16` names the file).

Each encoder block's output, (1 + 14*14 tokens, 768), is shown as 768 units of 14 x 14 tiles: the class
token is dropped and the patch tokens are laid out on the patch grid (core/tokens.py infers it; the
commented token_grid line below would state it). The last block is shown by its first layer norm, the layer
pytorch-grad-cam uses for ViTs: the head reads only the class token, so the patch tokens of the last
block's output (and of encoder.ln) get no gradient, and a Grad-CAM there would be empty; with this list
the app's Grad-CAM layer (the last grid below the output) is that norm.
"""

builder = "torchvision:vit_b_16"
input_size = (224, 224)
mean = (0.485, 0.456, 0.406)
std = (0.229, 0.224, 0.225)
# token_grid = {"encoder": (14, 14)}   # inferred (square grid); set it for a non-square input

_blocks = tuple(f"encoder.layers.encoder_layer_{i}" for i in range(11))
layers = ("conv_proj",) + _blocks + ("encoder.layers.encoder_layer_11.ln_1", "heads.head")
pretty_names = {"conv_proj": "patches", "encoder.layers.encoder_layer_11.ln_1": "b11.ln_1", "heads.head": "head"}
pretty_names.update({name: f"b{i}" for i, name in enumerate(_blocks)})
output_layer = "heads.head"
