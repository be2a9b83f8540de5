"""EfficientNet-Lite0 made fast on a CPU: batch norm folded into the convolutions for serving and training,
and cut into a frozen trunk and a trainable tail for training. Pure PyTorch.

In evaluation, each convolution followed by its batch norm is one affine map: ``folded_copy``
merges them (and lets stride-1 convolutions pad by themselves), channels-last, which takes a
forward pass of one photo on one core to about 0.7 of the wall time and 0.5 of the CPU time (the
``predict`` benchmark's forward-pass row measures it on each run). The served classifier runs
that copy (``FoodClassifier``); weights are stored and registered in the original architecture. Batch norm stays frozen while fine-tuning
(its statistics are the ImageNet ones), so training uses the same copy: Adam updates each weight
on its own scale, so training the merged weight instead of weight and batch-norm scale apart
changes little. ``unfold_into`` writes the result back into the original architecture.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

BLOCK_COUNT = 16


class SplitNetwork:
    """EfficientNet-Lite0 cut before block ``cut``: a frozen trunk and a trainable tail."""

    def __init__(self, network: nn.Module, cut: int):
        self.network = network
        self.cut = cut
        self.drop_connect_rate = network._global_params.drop_connect_rate or 0.0

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        net = self.network
        x = net._swish(net._bn0(net._conv_stem(images)))
        for block in net._blocks[: self.cut]:
            x = block(x)
        return x

    def tail_modules(self) -> list[nn.Module]:
        net = self.network
        return [*net._blocks[self.cut :], net._conv_head, net._bn1]

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled 1280-d features from the trunk's output; drop-connect as in the original network when training."""
        net = self.network
        for index in range(self.cut, BLOCK_COUNT):
            rate = self.drop_connect_rate * index / BLOCK_COUNT if net.training else None
            x = net._blocks[index](x, drop_connect_rate=rate)
        x = net._swish(net._bn1(net._conv_head(x)))
        return net._avg_pooling(x).flatten(1)


def _fold(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1), requires_grad=False)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    conv.bias = nn.Parameter((bias - norm.running_mean) * scale + norm.bias, requires_grad=False)


def _pad_inside(conv: nn.Conv2d) -> None:
    """Let the convolution pad a symmetric 'same' padding itself instead of copying the input into a padded one."""
    pad = getattr(conv, "static_padding", None)
    if isinstance(pad, nn.ZeroPad2d):
        left, right, top, bottom = pad.padding
        if left == right and top == bottom:
            conv.padding = (top, left)
            conv.static_padding = nn.Identity()


def _conv_norm_pairs(net: nn.Module) -> list[tuple[nn.Conv2d, str, nn.Module]]:
    """(convolution, name of its batch norm, the module holding that name), stem to head."""
    pairs = [(net._conv_stem, "_bn0", net)]
    for block in net._blocks:
        if block._block_args.expand_ratio != 1:
            pairs.append((block._expand_conv, "_bn0", block))
        pairs += [(block._depthwise_conv, "_bn1", block), (block._project_conv, "_bn2", block)]
    return [*pairs, (net._conv_head, "_bn1", net)]


@torch.no_grad()
def folded_copy(network: nn.Module) -> nn.Module:
    """A copy of an EfficientNet-Lite network with every batch norm folded into its convolution, channels-last.

    Computes the same function as ``network.eval()`` up to float rounding, with fewer passes over memory.
    Its parameters do not require gradients; turn them on for the part to fine-tune.
    """
    net = copy.deepcopy(network).eval()
    for conv, norm_name, owner in _conv_norm_pairs(net):
        if isinstance(getattr(owner, norm_name), nn.BatchNorm2d):  # a folded copy folds to itself
            _fold(conv, getattr(owner, norm_name))
            setattr(owner, norm_name, nn.Identity())
        _pad_inside(conv)
    net._swish = nn.ReLU6(inplace=True)
    for block in net._blocks:
        block._swish = nn.ReLU6(inplace=True)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net.to(memory_format=torch.channels_last)


@torch.no_grad()
def unfold_into(network: nn.Module, folded: nn.Module) -> None:
    """Write a folded copy's weights back into ``network`` (same architecture, batch norms intact) so both compute the same.

    Each batch norm becomes the identity plus the folded bias: mean 0, variance 1, scale sqrt(1 + eps).
    """
    for (conv, norm_name, owner), (folded_conv, _, _) in zip(_conv_norm_pairs(network), _conv_norm_pairs(folded), strict=True):
        norm = getattr(owner, norm_name)
        conv.weight.copy_(folded_conv.weight)
        norm.running_mean.zero_()
        norm.running_var.fill_(1.0)
        norm.weight.fill_(math.sqrt(1.0 + norm.eps))
        norm.bias.copy_(folded_conv.bias)

