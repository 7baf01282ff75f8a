"""fmnist's networks (the seed's CNN+LSTM, the ResNet, the speed network and LeNet-5) in PyTorch, for the weights that
`fmnist export --format pytorch` writes.

    import fmnist_model
    model = fmnist_model.load("runs/reproduce/cnn-seed/model.pth", "runs/reproduce/cnn-seed/config.json")
    probabilities = model(images)  # images: float32 (B,1,28,28), raw pixels 0-255, light garment on black

The module names match fmnist's TorchSharp networks (src/Fmnist.Core/Models/CnnLstm/CnnLstmNet.cs,
src/Fmnist.Core/Models/ResNet/ResNetNet.cs), so the state_dict loads strictly. The architecture comes from
the run's config.json ("config.model.arch"; absent means cnn-lstm): the CNN+LSTM's layer sizes are read from
the tensor shapes, the ResNet's width and blocks per stage from the config. The normalization (training
mean and std of pixels scaled to [0,1]) comes from config.json too. Checked with PyTorch 1.13 (Debian 12).

Run as a script it classifies raw images (N*784 bytes) and prints one JSON array of probabilities:
    python3 fmnist_model.py WEIGHTS.pth CONFIG.json IMAGES.u8
"""
import json
import sys
from collections import OrderedDict

import torch
from torch import nn

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class CnnLstmNet(nn.Module):
    """Two conv blocks, the 7 rows of the last feature map as a 7-step LSTM sequence, two dense layers. Returns logits."""

    def __init__(self, filters1=32, filters2=64, lstm=256, dense=128, dropout1=0.4, dropout2=0.5):
        super().__init__()
        self.conv1a = nn.Conv2d(1, filters1, 3, padding=1)
        self.conv1b = nn.Conv2d(filters1, filters1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(filters1)
        self.conv2a = nn.Conv2d(filters1, filters2, 3, padding=1)
        self.conv2b = nn.Conv2d(filters2, filters2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(filters2)
        self.pool = nn.MaxPool2d(2)
        self.lstm = nn.LSTM(filters2 * 7, lstm, batch_first=True)
        self.dropout1 = nn.Dropout(dropout1)
        self.dense = nn.Linear(7 * lstm, dense)
        self.dropout2 = nn.Dropout(dropout2)
        self.output = nn.Linear(dense, 10)

    def forward(self, x):
        # (B,1,28,28) -> (B,F1,14,14)
        x = self.pool(self.bn1(torch.relu(self.conv1b(torch.relu(self.conv1a(x))))))
        # (B,F1,14,14) -> (B,F2,7,7)
        x = self.pool(self.bn2(torch.relu(self.conv2b(torch.relu(self.conv2a(x))))))
        # (B,F2,7,7) -> (B,7,F2*7): each row of the feature map is one LSTM step
        x = x.permute(0, 2, 1, 3).reshape(x.shape[0], 7, -1)
        # (B,7,F2*7) -> (B,7,H) -> (B,7H)
        x = self.lstm(x)[0].reshape(x.shape[0], -1)
        x = torch.relu(self.dense(self.dropout1(x)))
        return self.output(self.dropout2(x))


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the shortcut (strided 1x1 conv + BN where the shape changes), then ReLU."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                bn=nn.BatchNorm2d(out_channels)))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNetNet(nn.Module):
    """3x3 stem at full resolution, stages of basic blocks (each later stage halves the map and doubles the
    channels), global average pool, one linear layer. Returns logits."""

    def __init__(self, width=32, blocks=(2, 2, 2)):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.stemBn = nn.BatchNorm2d(width)
        layers, channels = OrderedDict(), width
        for s, count in enumerate(blocks):
            out_channels = width << s
            for b in range(count):
                layers[f"s{s + 1}b{b + 1}"] = BasicBlock(channels, out_channels, 2 if s > 0 and b == 0 else 1)
                channels = out_channels
        self.stages = nn.Sequential(layers)
        self.output = nn.Linear(channels, 10)

    def forward(self, x):
        # (B,1,28,28) -> (B,W,28,28)
        x = torch.relu(self.stemBn(self.stem(x)))
        # (B,W,28,28) -> (B,C,H,W) -> (B,C): global average pool
        x = self.stages(x).mean(dim=(2, 3))
        return self.output(x)


class ConvGroup(nn.Module):
    """conv3x3 (no bias) - maxpool 2 - BN - GELU, then (depth-1) x [conv3x3 - BN - GELU]."""

    def __init__(self, in_channels, out_channels, depth):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False)
                                   for i in range(depth))
        self.norms = nn.ModuleList(nn.BatchNorm2d(out_channels) for _ in range(depth))

    def forward(self, x):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(x)
            if i == 0:
                x = torch.nn.functional.max_pool2d(x, 2)
            x = torch.nn.functional.gelu(norm(x))
        return x


class SpeedNet(nn.Module):
    """Frozen patch-whitening conv (its filters are in the state_dict), GELU, one conv group per width, global
    max-pool, bias-free linear layer times a fixed logit scale. Returns logits."""

    def __init__(self, widths=(64, 128, 256), depth=2, whiten_patch=3, logit_scale=1 / 9):
        super().__init__()
        self.whiten = nn.Conv2d(1, 2 * whiten_patch * whiten_patch, whiten_patch, bias=True)
        groups, channels = OrderedDict(), 2 * whiten_patch * whiten_patch
        for g, width in enumerate(widths):
            groups[f"g{g + 1}"] = ConvGroup(channels, width, depth)
            channels = width
        self.groups = nn.Sequential(groups)
        self.output = nn.Linear(channels, 10, bias=False)
        self.logit_scale = logit_scale

    def forward(self, x):
        x = torch.nn.functional.gelu(self.whiten(x))
        x = self.groups(x).amax(dim=(2, 3))
        return self.output(x) * self.logit_scale


class LeNetNet(nn.Module):
    """LeNet-5 with ReLU and max-pooling, as src/Fmnist.Core/Models/LeNet/LeNetNet.cs: conv 5x5 (padded), pool,
    conv 5x5, pool, three linear layers."""

    def __init__(self, channels=(6, 16)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels[0], 5, padding=2)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 5)
        self.fc1 = nn.Linear(channels[1] * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.output(torch.relu(self.fc2(torch.relu(self.fc1(x.flatten(1))))))


class FmnistClassifier(nn.Module):
    """Raw pixels in (0-255), class probabilities out: the training normalization is applied here."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.mean = float(mean)
        self.std = float(std)

    def forward(self, images):
        x = (images / 255.0 - self.mean) / self.std
        return torch.softmax(self.net(x), dim=1)


def sizes(state_dict):
    """Layer sizes from the tensor shapes, so no size is assumed."""
    return dict(filters1=state_dict["conv1a.weight"].shape[0], filters2=state_dict["conv2a.weight"].shape[0],
                lstm=state_dict["lstm.weight_hh_l0"].shape[1], dense=state_dict["dense.weight"].shape[0])


def build(model_config, state_dict):
    """The network that config.json's "config.model" describes (arch absent: the seed's CNN+LSTM)."""
    arch = model_config.get("arch", "cnn-lstm")
    if arch == "resnet":
        return ResNetNet(width=model_config.get("width", 32), blocks=tuple(model_config.get("blocks", (2, 2, 2))))
    if arch == "speed":
        return SpeedNet(widths=tuple(model_config.get("widths", (64, 128, 256))), depth=model_config.get("depth", 2),
                        whiten_patch=model_config.get("whiten_patch", 3), logit_scale=model_config.get("logit_scale", 1 / 9))
    if arch == "lenet":
        return LeNetNet(channels=tuple(model_config.get("channels", (6, 16))))
    if arch == "cnn-lstm":
        return CnnLstmNet(**sizes(state_dict))
    raise ValueError(f"unknown architecture '{arch}' in config.json (known: cnn-lstm, resnet, speed, lenet)")


def load(weights_path, config_path):
    state_dict = torch.load(weights_path, map_location="cpu")
    with open(config_path) as f:
        run = json.load(f)
    net = build(run["config"].get("model", {}), state_dict)
    net.load_state_dict(state_dict, strict=True)
    norm = run["normalization"]
    return FmnistClassifier(net, norm["mean"], norm["std"]).eval()


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: fmnist_model.py WEIGHTS.pth CONFIG.json IMAGES.u8")
    model = load(argv[1], argv[2])
    with open(argv[3], "rb") as f:
        raw = f.read()
    images = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 1, 28, 28).float()
    with torch.no_grad():
        print(json.dumps(model(images).tolist()))


if __name__ == "__main__":
    main(sys.argv)
