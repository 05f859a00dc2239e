"""Real image folders for the import tests, made from Fashion-MNIST and from Pillow itself.

fmnist_folder: Fashion-MNIST slices as PNG or JPEG class folders (names as export writes them).
tinted_folder: the same, one colour tint per class, enlarged to 64 px RGB (pixels returned).
shop_photo: one Fashion-MNIST image as a shop photo (colour garment on a light sheet, larger).
messy_folder: every format and mode the importer claims, and every way a file can be skipped.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from fashiongan import data
from fashiongan.data.classfolders import folder_name

TINTS = [(255, 64, 64), (64, 255, 64), (64, 64, 255), (255, 255, 64), (255, 64, 255),
         (64, 255, 255), (255, 160, 64), (160, 64, 255), (128, 128, 128), (255, 255, 255)]


def fmnist_folder(root: Path, n: int, fmt: str = "png") -> tuple[np.ndarray, np.ndarray]:
    """First n training images as root/<class>/<index>.<fmt>; returns (images, labels)."""
    x, y = data.load("train")
    x, y = x[:n].numpy(), y[:n].numpy()
    for i in range(n):
        d = root / folder_name(data.CLASS_NAMES[y[i]])
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i], "L").save(d / f"{i:05d}.{fmt}", quality=95)
    return x, y


def tinted_folder(root: Path, n: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """n images tinted by class and enlarged to size px RGB PNG; returns (N x 3 x S x S, y)."""
    x, y = data.load("train")
    x, y = x[:n].numpy(), y[:n].numpy()
    out = np.empty((n, 3, size, size), np.uint8)
    for i in range(n):
        big = np.asarray(Image.fromarray(x[i], "L").resize((size, size), Image.BICUBIC))
        rgb = (big[..., None].astype(np.float32) * np.array(TINTS[y[i]]) / 255).round()
        rgb = rgb.astype(np.uint8)
        d = root / f"class {y[i]}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb, "RGB").save(d / f"{i:05d}.png")
        out[i] = rgb.transpose(2, 0, 1)
    return out, y


def shop_photo(image: np.ndarray, size: int = 84, canvas=(130, 110), at=(30, 4),
               tint=(200, 40, 60), sheet: int = 250) -> Image.Image:
    """A 28-px grey image (garment light on black) as a shop photo: enlarged (bicubic) to
    size px, the garment in `tint` on an off-white sheet, at `at` on a larger canvas."""
    big = np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC))
    ink = big[..., None].astype(np.float32) / 255
    garment = sheet - ink * (sheet - np.array(tint, np.float32))
    out = np.full((*canvas, 3), sheet, np.float32)
    out[at[0]:at[0] + size, at[1]:at[1] + size] = garment
    return Image.fromarray(out.round().astype(np.uint8), "RGB")


def _solid(mode, size, colour):
    return Image.new(mode, size, colour)


# what each readable file of messy_folder must become at resolution 16, RGB, white background:
# (path, expected colour of the centre pixel, tolerance)
MESSY_EXPECT = {
    "tops/grey.png": ((100, 100, 100), 0),
    "tops/rgb.jpg": ((255, 0, 0), 6),
    "tops/cmyk.jpg": ((255, 0, 0), 8),  # C=0 M=255 Y=255 K=0 is red
    "tops/rgba.png": None,  # left half transparent (white), right half blue: checked apart
    "tops/pal.png": None,  # palette with a transparent index: checked apart
    "tops/pal.gif": None,
    "tops/anim.gif": ((50, 50, 50), 0),  # first frame only
    "tops/deep16.png": ((128, 128, 128), 0),  # 16-bit 0x8080 -> 128
    "tops/rgb.bmp": ((10, 200, 30), 0),
    "tops/lossless.webp": ((30, 60, 90), 0),
    "tops/exif6.jpg": None,  # white bar on top, EXIF says rotate 90 CW: bar ends on the right
    "tops/wide.png": None,  # 32 x 16 black: padded (white top and bottom), not stretched
    "Blusen & Röcke/nested/deeper/a.png": ((0, 0, 0), 0),
    "Blusen & Röcke/b.png": ((255, 255, 255), 0),
    "裙子/c.png": ((200, 0, 200), 0),
}
MESSY_SKIPPED = {  # path -> reason kind (the manifest's skipped_counts keys)
    "tops/broken.jpg": "not a readable image",
    "tops/empty.png": "empty file",
    "tops/truncated.png": "truncated",
    "tops/notes.txt": "not an image file",
    "loose.png": "not in a class folder",
    "tops/.hidden.png": "hidden",
    ".thumbs/": "hidden",
    "__MACOSX/": "hidden",
}


def messy_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    tops = root / "tops"
    tops.mkdir()
    _solid("L", (32, 32), 100).save(tops / "grey.png")
    _solid("RGB", (40, 40), (255, 0, 0)).save(tops / "rgb.jpg", quality=95)
    _solid("CMYK", (40, 40), (0, 255, 255, 0)).save(tops / "cmyk.jpg", quality=95)
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, 8:] = (0, 0, 255, 255)  # left half: alpha 0 (its colour, black, must not show)
    Image.fromarray(rgba, "RGBA").save(tops / "rgba.png")
    for name in ("pal.png", "pal.gif"):
        p = Image.new("P", (16, 16), 0)
        p.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)  # index 0 black, 1 green
        p.paste(1, (8, 0, 16, 16))  # right half green, left half index 0 = transparent
        p.save(tops / name, transparency=0)
    frames = [_solid("L", (16, 16), 50).convert("P"), _solid("L", (16, 16), 200).convert("P")]
    frames[0].save(tops / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(np.full((16, 16), 0x8080, np.uint16)).save(tops / "deep16.png")
    _solid("RGB", (16, 16), (10, 200, 30)).save(tops / "rgb.bmp")
    _solid("RGB", (16, 16), (30, 60, 90)).save(tops / "lossless.webp", lossless=True)
    bar = np.zeros((32, 32), np.uint8)
    bar[:8] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: display rotated 90 degrees clockwise
    Image.fromarray(bar, "L").convert("RGB").save(tops / "exif6.jpg", quality=95, exif=exif)
    _solid("L", (32, 16), 0).save(tops / "wide.png")
    (tops / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a JPEG" * 20)
    (tops / "empty.png").write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise, "RGB").save(buf, format="PNG")
    (tops / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tops / "notes.txt").write_text("size chart\n")
    _solid("RGB", (16, 16), (1, 2, 3)).save(tops / ".hidden.png")
    nested = root / "Blusen & Röcke" / "nested" / "deeper"
    nested.mkdir(parents=True)
    _solid("RGB", (16, 16), (0, 0, 0)).save(nested / "a.png")
    _solid("RGB", (16, 16), (255, 255, 255)).save(root / "Blusen & Röcke" / "b.png")
    (root / "裙子").mkdir()
    _solid("RGB", (16, 16), (200, 0, 200)).save(root / "裙子" / "c.png")
    _solid("RGB", (16, 16), (9, 9, 9)).save(root / "loose.png")
    for hidden in (".thumbs", "__MACOSX"):
        (root / hidden).mkdir()
        _solid("RGB", (16, 16), (7, 7, 7)).save(root / hidden / "x.png")
    return root


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """A zip of the folder itself (one top-level folder, as file managers make them)."""
    with zipfile.ZipFile(zip_path, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, Path(folder.name) / f.relative_to(folder))
    return zip_path
