"""torchvision googlenet (ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model googlenet` names the file)."""

builder = "torchvision:googlenet"

layers = (
    'conv1',
    'maxpool1',
    'conv2',
    'conv3',
    'maxpool2',
    'inception3a',
    'inception3b',
    'maxpool3',
    'inception4a',
    'inception4b',
    'inception4c',
    'inception4d',
    'inception4e',
    'maxpool4',
    'inception5a',
    'inception5b',
    'fc',
)
output_layer = "fc"
