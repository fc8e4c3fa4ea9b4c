"""Digit augmentation on whole batches: a small random affine map plus an elastic warp.

Both are folded into one sampling grid and applied with a single
:func:`torch.nn.functional.grid_sample` call, so augmenting a batch of 128
costs far less than the forward pass (no per-image Python loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["Augment"]


@dataclass(frozen=True)
class Augment:
    """Random distortions that keep a digit a digit.

    Parameters
    ----------
    rotate : float
        Largest rotation, degrees (uniform in [-rotate, rotate]). Larger angles
        start to turn 6 into 9-like shapes and 1 into 7-like slants.
    scale : float
        Largest relative change of size (uniform in [1 - scale, 1 + scale]).
    shear : float
        Largest horizontal shear factor (slant of handwriting).
    translate : float
        Largest shift in pixels along each axis.
    elastic : float
        Standard deviation, in pixels, of the smooth random displacement field.
    elastic_grid : int
        Resolution of the random field before bilinear upsampling to 28x28;
        a coarse grid gives the smooth, stroke-bending warps of Simard et al. (2003).
    """

    rotate: float = 12.0
    scale: float = 0.12
    shear: float = 0.2
    translate: float = 2.5
    elastic: float = 1.0
    elastic_grid: int = 4

    def scaled(self, strength: float) -> Augment:
        """The same distortions with every magnitude multiplied by ``strength``."""
        return Augment(
            rotate=self.rotate * strength,
            scale=self.scale * strength,
            shear=self.shear * strength,
            translate=self.translate * strength,
            elastic=self.elastic * strength,
            elastic_grid=self.elastic_grid,
        )

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Distort a batch ``x`` of shape (n, 1, h, w), values in [0, 1]."""
        n, _, h, w = x.shape

        def uniform(limit: float) -> torch.Tensor:
            u = torch.rand(n, generator=generator, device=x.device)
            return (2 * u - 1) * limit

        angle = uniform(math.radians(self.rotate))
        scale = 1 + uniform(self.scale)
        shear = uniform(self.shear)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        # affine_grid maps output coordinates in [-1, 1] to input coordinates:
        # rotation and scale, then shear; a shift of t pixels is 2 t / size there.
        theta = torch.stack(
            [
                torch.stack([cos, -sin + shear * cos, uniform(2 * self.translate / w)], dim=1),
                torch.stack([sin, cos + shear * sin, uniform(2 * self.translate / h)], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
        if self.elastic > 0:
            k = self.elastic_grid
            field = torch.randn(n, 2, k, k, generator=generator, device=x.device)
            field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)
            # pixels -> normalised coordinates (x along width, y along height)
            norm = torch.tensor([2 * self.elastic / w, 2 * self.elastic / h], device=x.device)
            grid = grid + field.permute(0, 2, 3, 1) * norm
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
