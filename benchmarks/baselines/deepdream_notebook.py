"""The DeepDream baseline: google/deepdream's notebook loop (``deepdream()`` + ``make_step()``) in plain torch, with
a full forward of the whole classifier every step (Caffe's ``net.forward()`` without ``end=``)."""

from __future__ import annotations


class FullForwardL2:
    """``½·mean(a²)`` of one module's output, computed by running the *whole* classifier (no early stop).

    Like Caffe's ``net.forward()`` without ``end=``: stem, every block, head, pooling and classifier run; the target
    activation is read from a forward hook (the blob), the rest is computed and thrown away.
    """

    def __init__(self, model, module, mean, std):
        import torch

        self.model = model
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.activation = None
        self.handle = module.register_forward_hook(self._capture)

    def _capture(self, _module, _inputs, output):
        self.activation = output

    def __call__(self, pixels):
        self.model(pixel_values=(pixels - self.mean) / self.std)  # logits computed, unused
        activation, self.activation = self.activation, None
        return 0.5 * activation.pow(2).mean()

    def close(self):
        self.handle.remove()


def baseline_dream(
    objective,
    base,
    *,
    octaves,
    octave_scale,
    steps,
    step_size,
    jitter,
    seed,
    clip=True,
    timer=None,
    notebook_rounding=False,
):
    """google/deepdream ``deepdream()`` + ``make_step()``; pixels in [0, 1]. Returns (image, start, end, history).

    The step is ``step_size * (g / mean|g|)`` with the mean taken per image (``g.abs().flatten(1).mean(1)``; the
    notebook's ``np.abs(g).mean()`` for its batch of one), the float expression hfmech uses.
    ``notebook_rounding=True`` writes it as the notebook does, ``step_size * g / g.abs().mean()``: the same maths,
    rounded differently (~1e-7 per step). Dreams are chaotic, so that alone moves the final objective measurably;
    the benchmark uses it as the yardstick for "same objective value" (``chaos_reference``).
    """
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)

    def make_step(img):
        # jitter, full forward, objective, backward, normalised step, unjitter, clip
        oy, ox = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=generator))
        shifted = torch.roll(img, shifts=(oy, ox), dims=(2, 3))
        src = shifted.detach().requires_grad_(True)
        value = objective(src)
        value.backward()
        g = src.grad
        if notebook_rounding:
            shifted = shifted + step_size * g / (g.abs().mean() + 1e-8)
        else:
            shifted = shifted + step_size * (g / (g.abs().flatten(1).mean(1).view(-1, 1, 1, 1) + 1e-8))
        img = torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3))
        if clip:
            img = img.clamp(0.0, 1.0)
        return img.detach(), float(value.detach())

    if timer is not None:
        make_step = timer.wrap(make_step)
    octave_bases = [base]
    for _ in range(octaves - 1):
        h, w = octave_bases[-1].shape[-2:]
        size = (round(h / octave_scale), round(w / octave_scale))
        octave_bases.append(F.interpolate(octave_bases[-1], size=size, mode="bilinear", align_corners=False))
    detail = torch.zeros_like(octave_bases[-1])
    history = []
    img = base
    for octave_base in reversed(octave_bases):
        if detail.shape[-2:] != octave_base.shape[-2:]:
            detail = F.interpolate(detail, size=octave_base.shape[-2:], mode="bilinear", align_corners=False)
        img = octave_base + detail
        for _ in range(steps):
            img, value = make_step(img)
            history.append(value)
        detail = img - octave_base
    with torch.no_grad():
        start, end = float(objective(base)), float(objective(img))
    return img, start, end, history


# --------------------------------------------------------------------------------------------------------------------
