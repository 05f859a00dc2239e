"""The model card (README.md) of a package: what the generator draws, the data it learned from,
how it was trained, its recorded figures (records.py: read from the run's files, never typed),
its sample grid, intended uses and limits, and the licence. The YAML front matter is the one
the Hugging Face hub reads (library, licence, tags), so the folder uploads as it is."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.share.records import Audit, Evaluation, Training, TrainingData, show

MISUSE = ("Realistic fakes can be misused. Generated garments can be passed off as photographs "
          "of real products (fake listings, counterfeit catalogue pages, misleading "
          "advertising). Label generated images as synthetic wherever they are shown, and do "
          "not present them as pictures of items that exist.")


@dataclass
class Card:
    title: str
    source: str  # what was packaged: a run folder, a snapshot, a shipped generator
    model: str
    model_kwargs: dict
    info: DatasetInfo
    training: Training
    data: TrainingData
    evaluation: Evaluation | None
    audit: Audit | None
    license: str
    grid: str  # how samples.png was drawn
    version: str  # fashiongan's, that wrote the package
    onnx: dict | None = None  # the ONNX check's figures (onnx_export.check)


def model_card(c: Card) -> str:
    parts = [_front_matter(c), f"# {c.title}\n", _draws(c), "![samples](samples.png)\n",
             f"*samples.png*: {c.grid}\n", _use(c), _data(c), _training(c), _evaluation(c),
             _audit(c), _uses_and_limits(c), _licence(c)]
    return "\n".join(parts)


def _front_matter(c: Card) -> str:
    tags = ["gan", "image-generation", "fashion", "fashiongan", "pytorch_model_hub_mixin",
            "model_hub_mixin"]
    lines = ["---", "library_name: fashiongan", f"license: {c.license}",
             "tags:", *(f"- {t}" for t in tags)]
    if c.info == FASHION_MNIST:
        lines += ["datasets:", "- zalando-datasets/fashion_mnist"]
    if not c.info.num_classes:
        lines.append("pipeline_tag: unconditional-image-generation")
    return "\n".join([*lines, "---", ""])


def _draws(c: Card) -> str:
    i = c.info
    colour = "colour (RGB)" if i.channels == 3 else "greyscale"
    what = (f"A GAN generator (fashiongan's `{c.model}` model) that draws {i.resolution}x"
            f"{i.resolution} {colour} images of clothes like those of "
            f"{i.name or 'its training set'}. ")
    if i.num_classes:
        names = ", ".join(f"{k} {n}" for k, n in enumerate(i.class_names))
        what += (f"It is class-conditional: ask for one of its {i.num_classes} classes "
                 f"({names}), or a blend of two (class weights).")
    else:
        what += "It is unconditional: a seed picks the design, not a class."
    return what + f"\n\nPackaged by fashiongan {c.version} from {c.source}.\n"


def _use(c: Card) -> str:
    cls = f', classes="{c.info.class_names[3 % c.info.num_classes]}"' if c.info.num_classes \
        else ""
    lines = ["## How to use it", "", "With fashiongan (`pip install fashiongan`), from this "
             "folder or after downloading it:", "", "```python", "import fashiongan",
             'g = fashiongan.load_generator("path/to/this/folder")',
             f"images = fashiongan.sample(g, 16, seed=0{cls})  # uint8, the same bytes for "
             "the same seeds", "```", "",
             "`fashiongan sample DIR`, `fashiongan serve --checkpoint DIR` and `fashiongan "
             "evaluate DIR` take the folder as a checkpoint. huggingface_hub's loader reads it "
             "too (`pip install 'fashiongan[share]'`):", "", "```python",
             "from fashiongan.share.hub import FashionGANGenerator",
             'g = FashionGANGenerator.from_pretrained("path/to/this/folder")  # or a hub repo',
             "```", ""]
    if c.onnx:
        o = c.onnx
        inputs = ", ".join(f"`{n}` {s}" for n, s in o["inputs"].items())
        lines += [
            f"`generator.onnx` (opset {o['opset']}, batch size dynamic) takes {inputs} and "
            "returns `images` [N, C, H, W] in [-1, 1] (grey level: round((x + 1) * 127.5)). "
            + _onnx_inputs_help(c) + " Latent i is `fashiongan.latents([seed], "
            f"{c.model_kwargs.get('latent_dim')})`.",
            "", f"Checked against PyTorch in onnxruntime on the CPU with {o['n']} seeds "
            f"({o['what']}): max abs difference {o['max_abs_diff']:.3g} in [-1, 1], "
            f"{o['max_grey_diff']} grey level(s) after rounding.", ""]
    return "\n".join(lines)


def _onnx_inputs_help(c: Card) -> str:
    if not c.info.num_classes:
        return "The generator is unconditional: the latent alone picks the design."
    return ("A class is its one-hot row of `class_weights`; a morph between classes a and b "
            "is (1 - t) one_hot(a) + t one_hot(b), as the studio draws it.")


def _data(c: Card) -> str:
    d = c.data
    pin = (f" SHA-256 of {d.digest_of}: `{d.digest}`." if d.digest
           else " Its manifest hash is not known.")
    return f"## Training data\n\n{d.description}.{pin}\n"


def _training(c: Card) -> str:
    t = c.training
    lines = ["## Training", ""]
    if t.command:
        lines.append(f"Command: `{t.command}`" + (f", continued with `{t.continued_with}`"
                                                  if t.continued_with else "") + ".")
    else:
        lines.append("Command: not recorded (the run folder has no commands.json; the "
                     "settings it resolved are below).")
    if t.wall_s is not None:
        lines.append(f"Training time: {t.wall_s:.0f} s ({t.wall_s / 60:.1f} min) wall clock"
                     + (" of the last training session (metrics.jsonl)"
                        if t.last_session_wall else "")
                     + (f", on {t.machine}" if t.machine else "") + ".")
    else:
        lines.append("Training time: not recorded.")
    if t.step is not None:
        seen = f", {t.images_seen:,} images seen" if t.images_seen is not None else ""
        lines.append(f"Iterations: {t.step:,}{seen}.")
    if t.source:
        lines.append(f"(Read from `{t.source}`.)")
    if t.settings:
        lines += ["", "<details><summary>Training settings as recorded</summary>", "",
                  "```json", json.dumps(t.settings, indent=1, sort_keys=True), "```", "",
                  "</details>"]
    return "\n".join([*lines, ""])


def _evaluation(c: Card) -> str:
    e = c.evaluation
    if e is None:
        return ("## Evaluation\n\nNot evaluated: no `fashiongan evaluate` result was recorded "
                "for this generator. Run `fashiongan evaluate RUN` and package it again.\n")
    n = f"N = {e.n:,} generated images" if e.n is not None else "N not recorded"
    rows = ["| metric | value | real-data floor (same N) |", "|---|---|---|"]
    rows += [f"| {f.name} | {f.text} | {'-' if f.floor is None else show(f.floor)} |"
             for f in e.figures]
    lines = ["## Evaluation", "", f"Judge: {e.judge}. {n}, scored against {e.against}.", "",
             *rows, "", f"Read from `{e.source}`"
             + (f"; made by `{e.command}`." if e.command else "."),
             *(f"\n**Note:** {note}" for note in e.notes), ""]
    return "\n".join(lines)


def _audit(c: Card) -> str:
    a = c.audit
    if a is None:
        return ("## Memorisation audit\n\nNo memorisation audit was recorded for this "
                "generator: it is not known how many of its images copy a training image. "
                "Run `fashiongan audit RUN` and package it again.\n")
    median = f" Median distance to the nearest training image: {show(a.median_distance)}." \
        if a.median_distance is not None else ""
    return (f"## Memorisation audit\n\ncopy_fraction {show(a.copy_fraction)}: of {a.n:,} "
            f"samples, that share lies closer to a training image than "
            f"{100 * (1 - a.expected):.0f}% of real unseen test images do (real unseen images: "
            f"{show(a.expected)}).{median} Read from `{a.source}`"
            + (f"; made by `{a.command}`" if a.command else "") + ".\n")


def _uses_and_limits(c: Card) -> str:
    size = f"{c.info.resolution}x{c.info.resolution}"
    return "\n".join([
        "## Intended uses and limits", "",
        "Intended: research and teaching on generative models, synthetic training data for "
        "classifiers (check it with `fashiongan evaluate --cas` and the audit), design "
        "exploration and mood boards.", "",
        f"Limits: the images are {size} pixels and look like the training data, not like "
        "photographs of new products; the generator knows only the classes and the catalogue "
        "style it was trained on, with that catalogue's biases; some samples are malformed "
        "(see the figures above), and a GAN may reproduce training images (see the audit).",
        "", f"**Warning:** {MISUSE}", ""])


def _licence(c: Card) -> str:
    data = (" The training data, Fashion-MNIST, is under the MIT licence (Zalando Research)."
            if c.info == FASHION_MNIST else " The training images' own terms apply to what "
            "the generator learned from them: check them before sharing.")
    return (f"## License\n\nThe weights: `{c.license}`. fashiongan, the code that trains and "
            f"reads them, is under the MIT licence.{data}\n")
