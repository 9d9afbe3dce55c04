"""The style-transfer baseline: the PyTorch neural-style tutorial's loop (content/style loss modules inserted after
the conv layers, L-BFGS on the pixels)."""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

#: Gatys et al.'s layers, as the tutorial uses them
CONTENT_LAYERS = ["relu4_2"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        from hfmech.style.losses import content_loss

        self.loss = content_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        from hfmech.style.losses import gram_matrix

        self.target = gram_matrix(target_feature).detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        from hfmech.style.losses import gram_matrix, style_layer_loss

        self.loss = style_layer_loss(gram_matrix(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def tutorial_model(trunk, content, style):
    """The tutorial's ``get_style_model_and_losses``, without its final trimming (full forward every step).

    Built once per benchmark, before hfmech runs; the copied layers are made contiguous (NCHW, as torchvision's
    model is), whatever memory format hfmech has since put the shared trunk in.
    """

    names = trunk.config.layer_names()
    model = nn.Sequential(Normalization(trunk.config.image_mean, trunk.config.image_std))
    content_losses, style_losses = [], []
    for name, layer in zip(names, copy.deepcopy(trunk.features)):
        model.add_module(name, layer.to(memory_format=torch.contiguous_format))
        if name in CONTENT_LAYERS:
            target = model(content).detach()
            module = ContentLoss(target)
            model.add_module(f"content_loss_{name}", module)
            content_losses.append(module)
        if name in STYLE_LAYERS:
            target = model(style).detach()
            module = StyleLoss(target)
            model.add_module(f"style_loss_{name}", module)
            style_losses.append(module)
    model.eval().requires_grad_(False)
    return model, content_losses, style_losses


def tutorial_loss(tutorial, img, weights):
    """The weighted total loss of ``img`` through the tutorial model (its loss modules record the terms)."""
    model, content_losses, style_losses = tutorial
    model(img)
    c = sum(m.loss for m in content_losses)
    s = sum(m.loss for m in style_losses) / len(style_losses)
    tv = ((img[..., 1:, :] - img[..., :-1, :]) ** 2).mean() + ((img[..., 1:] - img[..., :-1]) ** 2).mean()
    return weights["content_weight"] * c + weights["style_weight"] * s + weights["tv_weight"] * tv


def run_baseline(tutorial, content, steps, weights):
    img = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([img])
    history, times = [], []
    start = time.perf_counter()
    while len(history) < steps:

        def closure():
            with torch.no_grad():
                img.clamp_(0, 1)
            optimizer.zero_grad()
            loss = tutorial_loss(tutorial, img, weights)
            loss.backward()
            history.append(float(loss.detach()))
            times.append(time.perf_counter() - start)
            return loss

        optimizer.step(closure)
    return history[:steps], times[:steps]


def rescore(tutorial, images, weights):
    """The baseline's own float32 loss for each image, clamped to [0, 1] as the baseline's closure clamps."""
    with torch.no_grad():
        return [float(tutorial_loss(tutorial, img.clamp(0.0, 1.0), weights)) for img in images]
