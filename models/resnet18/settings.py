"""torchvision resnet18 (ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model resnet18` names the file)."""

builder = "torchvision:resnet18"

layers = (
    'relu',
    'maxpool',
    'layer1.0',
    'layer1.1',
    'layer2.0',
    'layer2.1',
    'layer3.0',
    'layer3.1',
    'layer4.0',
    'layer4.1',
    'avgpool',
    'fc',
)
output_layer = "fc"
