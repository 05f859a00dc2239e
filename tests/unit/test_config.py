from pathlib import Path

import pytest

from fashiongan import config, presets
from fashiongan.errors import UserError


def test_article_preset_is_the_article():
    c = presets.resolve("article")
    assert (c.model.arch, c.model.latent_dim, c.schedule.batch_size, c.optim.iterations) == (
        "article",
        100,
        32,
        5000,
    )
    assert (c.optim.lr, c.optim.beta1, c.optim.beta2, c.objective.loss) == (2e-4, 0.5, 0.999, "bce")
    assert c.objective.d_split_steps and c.objective.d_fakes_eval_mode
    assert (c.output.log_interval, c.output.grid_rows, c.output.grid_cols) == (1000, 5, 10)


# What the README's Models table says of each preset: (words in its row, the config they mean)
README_TABLE = {
    "article": (["BCE", "MLP"], {"model": "article", "loss": "bce", "batch_size": 32}),
    "dcgan": (
        ["64×7×7", "32×14²", "non-saturating", "Adam(2e-4, β 0.5/0.999)", "batch 64", "EMA of G"],
        {
            "model": "dcgan",
            "g_width": 64,
            "d_width": 32,
            "loss": "non_saturating",
            "lr": 2e-4,
            "beta1": 0.5,
            "beta2": 0.999,
            "batch_size": 64,
            "num_classes": 0,
        },
    ),
    "cdcgan": (
        ["conditional BatchNorm", "projection"],
        {
            "model": "cdcgan",
            "g_width": 64,
            "d_width": 32,
            "batch_size": 64,
            "num_classes": 10,
            "loss": "non_saturating",
        },
    ),
    "default": (
        ["cdcgan", "batch 32", "4e-4"],
        {"model": "cdcgan", "batch_size": 32, "d_lr": 4e-4, "lr": 2e-4, "num_classes": 10},
    ),
    "best": (
        ["default", "400,000"],
        {
            "model": "cdcgan",
            "g_width": 64,
            "d_width": 32,
            "loss": "hinge",
            "batch_size": 32,
            "d_lr": 4e-4,
            "num_classes": 10,
            "r1_interval": 16,
            "batch_sampling": "balanced",
            "iterations": 400_000,
        },
    ),
}


def test_every_preset_resolves_to_what_the_readme_table_says():
    names = presets.preset_names()
    assert set(README_TABLE) <= set(names)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in readme.splitlines()
        if line.startswith("| `")
    }
    for name, (words, values) in README_TABLE.items():
        assert all(w in rows[name] for w in words), (name, rows[name])
        cfg = presets.resolve(name)
        assert {k: cfg.to_dict()[k] for k in values} == values, name
        # "EMA of G" in dcgan's row, which cdcgan's and default's rows build on
        assert (cfg.schedule.ema_halflife_kimg > 0) == (name != "article"), name


def test_override_types_are_read_as_yaml_scalars():
    c = presets.resolve("article", ["lr=1e-4", "iterations=7", "compile=true", "device=cpu"])
    assert (c.optim.lr, c.optim.iterations, c.runtime.compile, c.runtime.device) == (
        1e-4,
        7,
        True,
        "cpu",
    )


@pytest.mark.parametrize(
    "pair,msg",
    [
        ("nope=1", "unknown key 'nope'; valid keys: model, "),
        ("iterations=ten", "iterations must be a int"),
        ("lr=fast", "lr must be a float"),
        ("compile=3", "compile must be a bool"),
        ("batch_size=0", "batch_size must be > 0"),
        ("iterations=-5", "iterations must be > 0"),
        ("loss=magic", "loss must be one of"),
        ("justakey", "expected key=value"),
    ],
)
def test_bad_override_is_one_clear_error(pair, msg):
    with pytest.raises(UserError, match=msg.replace("(", r"\(")) as e:
        presets.resolve("article", [pair])
    assert "\n" not in str(e.value)


def test_unknown_preset_lists_presets():
    with pytest.raises(UserError, match="unknown preset 'nope'; presets: .*article"):
        presets.resolve("nope")


def test_yaml_preset_file_with_unknown_key(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("iterations: 3\ncolour: red\n")
    with pytest.raises(UserError, match="unknown key.*colour; valid keys"):
        presets.resolve(str(f))
    f.write_text("iterations: 3\n")
    assert presets.resolve(str(f)).optim.iterations == 3


def test_json_roundtrip(tmp_path):
    c = presets.resolve("article", ["seed=7"])
    (tmp_path / "config.json").write_text(__import__("json").dumps(c.to_dict()))
    assert config.load_json(tmp_path / "config.json") == c


def test_presets_fit_the_data_set():
    """Conditional on the data set's classes, unconditional without labels; the default preset
    sized for the resolution; --set still wins."""
    from fashiongan.data import DatasetInfo

    shop = DatasetInfo(64, 3, ("dress", "shoe", "bag"))
    cfg = presets.resolve(None, [], shop)  # colour at 64 px: the colour preset's generator
    assert (cfg.model.arch, cfg.model.num_classes, cfg.runtime.amp) == ("fastgan", 3, "auto")
    assert cfg == presets.resolve("colour", [], shop)
    # ADA's geometry and cutout, not its colour operations (their grey backgrounds leak)
    assert (cfg.augment.mode, cfg.augment.ada_colour) == ("ada", False)
    assert cfg.schedule.ema_halflife_kimg == 20.0  # the default's 5 on grey data
    assert (cfg.model.g_width, cfg.model.d_width, cfg.schedule.batch_size) == (128, 16, 32)
    best = presets.resolve("best", [], shop)  # the default's network: sized the same way
    assert (best.model.arch, best.model.g_width, best.model.d_width, best.schedule.batch_size,
            best.model.num_classes) == ("fastgan", 128, 16, 32, 3)
    assert (best.augment.mode, best.augment.ada_colour) == ("ada", False)
    assert best.schedule.ema_halflife_kimg == 20.0
    assert presets.resolve(None, [], DatasetInfo(128, 3)).model.arch == "fastgan"
    for grey_or_small in (DatasetInfo(64, 1, ("a", "b")), DatasetInfo(32, 3, ("a", "b"))):
        grey = presets.resolve(None, [], grey_or_small)
        assert (grey.model.arch, grey.schedule.ema_halflife_kimg) == ("cdcgan", 5.0)
    plain = presets.resolve(None, ["d_width=24", "model=dcgan"], DatasetInfo(64, 3))
    assert (plain.model.arch, plain.model.num_classes, plain.model.d_width) == ("dcgan", 0, 24)
    plain = presets.resolve(None, [], DatasetInfo(32, 3))
    assert (plain.model.arch, plain.model.num_classes) == ("dcgan", 0)
    cdcgan = presets.resolve("cdcgan")
    assert presets.resolve("cdcgan", [], shop).model.g_width == cdcgan.model.g_width
    assert presets.resolve("article", [], shop).model.num_classes == 0
    assert presets.resolve(None, [], None) == presets.resolve()


def test_best_is_the_default_trained_longer():
    """README, Better clothes: the default's network and kept set measured best per CPU minute,
    so `best` differs from `default` only in an iteration count that a time budget ends."""

    best, default = presets.resolve("best"), presets.resolve()
    assert best.optim.iterations == 400_000 > default.optim.iterations
    assert best.replace(iterations=default.optim.iterations) == default
    # built on the default by `base:`, not a copy that a change to the default would miss
    assert [(src, own) for src, own in presets.preset_lineage("best")][:1] == [
        ("preset best", {"iterations": 400_000})
    ]
    assert presets.preset_lineage("best")[1][0] == "preset default"


def test_a_preset_file_may_start_from_another(tmp_path):
    """`base:` (a shipped preset, or a YAML path relative to the file): the file's keys over its
    base chain's; built on the default, it is sized and switches augmentation as the default."""
    from fashiongan.data import DatasetInfo

    (tmp_path / "house.yaml").write_text("base: default\nbatch_size: 16\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.yaml").write_text("base: ../house.yaml\nseed: 3\n")
    mine = presets.resolve(str(tmp_path / "sub" / "mine.yaml"))
    assert mine == presets.resolve(None, ["batch_size=16", "seed=3"])
    assert presets.builds_on_default(str(tmp_path / "sub" / "mine.yaml"))
    house = presets.resolve(str(tmp_path / "house.yaml"), [], DatasetInfo(64, 3))
    assert (house.model.d_width, house.model.arch) == (16, "fastgan")  # the default's, in colour
    (tmp_path / "res.yaml").write_text("base: default\nmodel: resnet\n")  # its own model stays
    res = presets.resolve(str(tmp_path / "res.yaml"), [], DatasetInfo(64, 3))
    assert res.model.arch == "resnet"
    assert presets.small_data_augment(str(tmp_path / "house.yaml"), [], 1000) == "ada"
    (tmp_path / "own.yaml").write_text("base: cdcgan\niterations: 5\n")  # not the default's
    assert not presets.builds_on_default(str(tmp_path / "own.yaml"))
    assert presets.small_data_augment(str(tmp_path / "own.yaml"), [], 1000) is None
    assert presets.resolve(str(tmp_path / "own.yaml"), [], DatasetInfo(64, 3)).model.d_width == 32


@pytest.mark.parametrize(
    "files, message",
    [
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: a.yaml\n"}, "goes round in a circle"),
        ({"a.yaml": "base: a.yaml\n"}, "goes round in a circle"),
        ({"a.yaml": "base: nope\n"}, "unknown preset 'nope'"),
        ({"a.yaml": "base: gone.yaml\n"}, "gone.yaml does not exist"),
        ({"a.yaml": "base: [default]\n"}, "`base` must name a preset"),
    ],
)
def test_a_bad_base_is_a_clear_error(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=message):
        presets.resolve(str(tmp_path / "a.yaml"))
