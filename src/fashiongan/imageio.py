"""Image arrays as files and pictures hold them: uint8 layouts (grey NxHxW, colour NxHxWx3,
NCHW for networks) and grids of images, shared by sampling, metrics, export and the studio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write
from fashiongan.outputs import PNG_STAMP


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] float [N,C,H,W] -> uint8 [N,H,W] for grey (0 black background, as the data set),
    [N,H,W,3] for colour: the layouts of image files and of the .npz files we write."""
    x = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    if x.ndim == 4 and x.shape[1] == 3:
        return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()
    return x.reshape(x.shape[0], *x.shape[-2:]).cpu().numpy()


def as_tensor(images) -> torch.Tensor:
    """A tensor as it is; an array shared with torch, or copied when it is read-only (a memory
    map), which torch cannot share safely."""
    if isinstance(images, torch.Tensor):
        return images
    return torch.as_tensor(np.require(images, requirements="W"))


def to_nchw(images, what: str = "Inception input") -> torch.Tensor:
    """uint8 grey [N,H,W] -> [N,1,H,W]; colour [N,H,W,3] -> [N,3,H,W]; [N,1|3,H,W] as is."""
    x = as_tensor(images)
    if x.dtype != torch.uint8:
        raise UserError(f"{what} must be uint8 images, got {x.dtype}")
    if x.dim() == 3:
        return x.unsqueeze(1)
    if x.dim() == 4 and x.shape[-1] == 3 and x.shape[1] != 3:
        return x.permute(0, 3, 1, 2)
    if x.dim() == 4 and x.shape[1] in (1, 3):
        return x
    raise UserError(f"{what} must be NxHxW (grey) or NxHxWx3 (colour) uint8, got "
                    f"{'x'.join(map(str, x.shape))}")


def from_nchw(images) -> np.ndarray:
    """uint8 N x C x H x W (a data set's layout) -> N x H x W (grey) or N x H x W x 3, the
    layout of samples and .npz files."""
    x = np.asarray(images)
    return x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)


def sample_shape(info) -> tuple[int, ...]:
    """One image's shape in the sample layout for a DatasetInfo: (H, W) grey, (H, W, 3)."""
    r = info.resolution
    return (r, r) if info.channels == 1 else (r, r, 3)


def grid(images: np.ndarray, rows: int, cols: int, pad: int = 2, scale: int = 1) -> Image.Image:
    """Tile uint8 [N,H,W] (grey) or [N,H,W,3] (colour) images row-major into one picture
    (missing cells dark grey), enlarged `scale` times without smoothing. The cell size is
    the images' own (an empty array still has its H and W)."""
    colour = images.ndim == 4
    h, w = images.shape[1:3]
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, *images.shape[3:]), 64,
                     np.uint8)
    for i, img in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h,
               pad + c * (w + pad): pad + c * (w + pad) + w] = img
    im = Image.fromarray(canvas, mode="RGB" if colour else "L")
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale > 1 else im


def save_png(img: Image.Image, path) -> Path:
    """Write a picture as a PNG, atomically, stamped Software=fashiongan (a tEXt chunk): a
    later command may replace a PNG it wrote under a name the user did not give, never a
    person's picture of that name (outputs.check_outputs)."""
    info = PngImagePlugin.PngInfo()
    info.add_text(*PNG_STAMP)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG", pnginfo=info))
