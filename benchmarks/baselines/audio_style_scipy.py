"""The audio style-transfer baseline: the Ulyanov & Lebedev notebook's optimiser, scipy L-BFGS-B, on the same torch
loss and noise start."""

from __future__ import annotations

import torch
from common import timed

from hfmech.style.pipeline_audio_style_transfer import content_loss, gram_matrix, style_loss


def scipy_baseline(pipe, content, style, steps: int, content_weight: float) -> dict:
    """The notebook's optimiser: scipy L-BFGS-B on the same torch loss, same noise start (seed 0)."""
    from scipy.optimize import minimize

    inputs = pipe.preprocess(content, style=style)
    model = pipe.model
    with torch.no_grad():
        content_features = model(inputs["content"])
        style_gram = gram_matrix(model(inputs["style"]), inputs["style"].shape[-1])
    n_frames = inputs["content"].shape[-1]
    shape = inputs["content"].shape
    x0 = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 1e-3).double().numpy().ravel()
    history = []

    def loss_and_grad(flat):
        x = torch.from_numpy(flat.reshape(shape)).float().requires_grad_(True)
        features = model(x)
        loss = style_loss(features, n_frames, style_gram) + content_weight * content_loss(
            features, content_features
        )
        loss.backward()
        history.append(loss.item())
        return loss.item(), x.grad.double().numpy().ravel()

    result, seconds, _ = timed(
        lambda: minimize(
            loss_and_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": steps, "maxcor": 10}
        )
    )
    return {
        "seconds_optimisation": seconds,
        "evaluations": len(history),
        "iterations": int(result.nit),
        "loss_start": history[0],
        "loss_end": float(result.fun),
        "message": str(result.message),
    }
