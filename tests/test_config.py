"""The experiment configuration: presets, YAML, ``--set`` and the refusals that name the key and the value."""

from pathlib import Path

import pytest
import yaml

from stasc.config import (
    PRESET_DIR,
    AugmentConfig,
    ConfigError,
    ExperimentConfig,
    InputConfig,
    TrainConfig,
    load_experiment,
    load_yaml,
    merge,
    parse_assignments,
    preset_names,
    read_config_file,
    save_experiment,
)
from stasc.features import named_features, parse_feature
from stasc.features.kinds.logmel import LogMelSettings
from stasc.models.pooling import STAPSettings

PAPER_PRESETS = ("mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup")


def test_every_preset_loads_and_the_paper_has_six() -> None:
    names = preset_names()
    assert set(PAPER_PRESETS) <= set(names) and len(names) == len(list(PRESET_DIR.glob("*.yaml")))
    for name in names:
        config = load_experiment(name)
        assert config.name == name, f"{name}.yaml names itself {config.name!r}"
        assert config.model.in_channels == len(config.input.features)


def test_preset_feature_entries_name_a_kind_or_a_paper_name() -> None:
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["input"]["features"]:
            if isinstance(entry, str):
                assert entry in named_features(), f"{path.name}: {entry!r} is not a paper name"
            else:  # a kind with settings, or a paper name with changes: never both
                assert ("kind" in entry) != ("name" in entry), f"{path.name}: {entry}"


def test_a_feature_entry_with_both_a_name_and_another_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"input.features\[0\]: mfcc2048 is a mfcc feature, not logmel; "
                                          "name a logmel feature by its kind alone"):
        ExperimentConfig.parse({"input": {"features": [{"name": "mfcc2048", "kind": "logmel"}]}})


def test_the_paper_presets_say_what_the_paper_did() -> None:
    stap = load_experiment("mfcc-stap-mixup")
    assert [f.label for f in stap.input.features] == ["mfcc2048"] and stap.input.patch_shift == 32
    assert stap.model.pooling == STAPSettings() and stap.mixup.enabled and stap.mixup.alpha == 0.2
    assert (stap.train.lr, stap.train.weight_decay, stap.train.batch_size, stap.train.max_epochs,
            stap.train.patience) == (1e-4, 5e-4, 256, 100, 20)
    two = load_experiment("cqt-mfcc")
    assert [f.label for f in two.input.features] == ["cqt", "mfcc1024"] and two.model.in_channels == 2
    assert two.model.pooling.kind == "mean" and two.model.output_grid() == (4, 128)
    assert [f.label for f in load_experiment("hpss-mfcc-stap-mixup").input.features] == ["hpss_mfcc2048"]
    sample = load_experiment("sample")
    assert sample.input.features[0] == LogMelSettings(sample_rate=8000, n_fft=256, hop_length=64, n_mels=40, fmin=60.0)
    assert sample.model.pooling.kind == "mean" and sample.input.clip_norm == "mean"
    assert sample.augment.freq_warp == 0.15 and sample.augment.filter_db == 6.0 and sample.train.selection == "last"
    assert sample.model.width_multiplier == 0.5


@pytest.mark.parametrize("name", ["cqt-mfcc-stap", "sample", "dcase2019-baseline"])
def test_round_trip_through_yaml(name: str, tmp_path: Path) -> None:
    config = load_experiment(name, {"train": {"lr": 3e-4}, "augment": {"gain_db": 6.0}})
    assert ExperimentConfig.parse(yaml.safe_load(yaml.safe_dump(config.to_dict()))) == config
    save_experiment(config, tmp_path / "run.yaml")
    assert load_experiment(tmp_path / "run.yaml") == config
    assert [p.name for p in tmp_path.iterdir()] == ["run.yaml"]  # no temporary left behind


def test_defaults_of_the_new_sections() -> None:
    train = TrainConfig()
    assert (train.selection, train.validation_fraction, train.monitor, train.num_workers) == (
        "validation", 0.125, "val_acc", "auto")
    assert TrainConfig.parse({"num_workers": 4}).num_workers == 4
    assert TrainConfig.parse({"selection": "last", "validation_fraction": 0}).validation_fraction == 0
    assert train.validation_part == "groups"  # a whole fold only when asked: it costs a fold of training clips
    assert TrainConfig.parse({"validation_part": "fold", "validation_fraction": 0}).validation_part == "fold"
    augment = AugmentConfig()
    assert augment == AugmentConfig(time_shift=0, gain_db=0.0, freq_masks=0, freq_max_width=8, time_masks=0,
                                    time_max_width=16)
    assert not augment.enabled and not load_experiment("mfcc-stap-mixup").augment.enabled  # off in the paper's presets
    assert all(AugmentConfig(**on).enabled for on in ({"freq_masks": 2}, {"gain_db": 3}, {"time_shift": 4}))
    assert not AugmentConfig(freq_masks=2, freq_max_width=0).enabled  # masks of width 0 change nothing


@pytest.mark.parametrize(
    "data,match",
    [
        ({"train": {"lrr": 1}}, "unknown config key train.lrr; known keys of train: .*lr, lr_schedule, max_epochs"),
        ({"nmae": "y"}, "unknown config key nmae; known keys: augment, description, input, mixup, model, name, train"),
        ({"masking": {"freq_masks": 1}}, "unknown config key masking; known keys: augment"),  # the old section
        ({"model": {"stap_norm": True}}, "unknown config key model.stap_norm; known keys of model: .*pooling"),
        ({"train": {"max_epochs": "many"}}, "train.max_epochs: input should be a valid integer.*, got 'many'"),
        ({"train": {"max_epochs": 1.5}}, "train.max_epochs: input should be a valid integer, got 1.5"),
        ({"train": {"lr": -1}}, "train.lr: input should be greater than 0, got -1"),
        ({"train": {"selection": "best"}},
         "train.selection: input should be 'validation', 'test-fold' or 'last', got 'best'"),
        ({"train": {"validation_fraction": 1}}, "train.validation_fraction: input should be less than 1, got 1"),
        ({"train": {"validation_fraction": 0}}, "train: selection 'validation' needs validation_fraction > 0"),
        ({"train": {"validation_part": "folds"}},
         "train.validation_part: input should be 'groups' or 'fold', got 'folds'"),
        ({"train": {"monitor": "acc"}}, "train.monitor: input should be 'val_acc' or 'val_loss', got 'acc'"),
        ({"augment": {"gain_db": -1}}, "augment.gain_db: input should be greater than or equal to 0, got -1"),
        ({"input": {"mono_views": 2}}, "input.mono_views: input should be 1 or 3, got 2"),
        ({"input": {"patch_size": [128]}}, "input.patch_size\\[1\\]"),
        ({"input": {"features": []}}, "input.features: list should have at least 1 item"),
        ({"input": {"features": ["mfcc4096"]}},
         "input.features\\[0\\]: unknown feature 'mfcc4096'; paper names: .*mfcc2048"),
        ({"input": {"features": [{"kind": "mfcc", "n_fft": -1}]}},
         "input.features\\[0\\].*n_fft: .*greater than 0, got -1"),
        ({"input": {"features": ["cqt", "mfcc2048"]}, "model": {"in_channels": 2}},
         "input: stacked features must share one frame grid"),
        ({"input": {"features": ["cqt", "mfcc1024"]}},
         "model.in_channels \\(1\\) must equal the number of stacked input.features \\(2\\)"),
        ({"model": {"pooling": "median"}}, "model.pooling: got 'median', expected one of .*stap"),
        ({"model": {"blocks": [{"convz": []}]}},
         "unknown config key model.blocks\\[0\\].convz; known keys of model.blocks\\[0\\]: convs"),
    ],
)
def test_bad_keys_and_values_name_the_key_and_the_value(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ExperimentConfig.parse(data)


@pytest.mark.parametrize("text", ["nan", ".nan", "inf", "-inf", ".inf"])
def test_set_refuses_non_finite_numbers(text: str) -> None:
    with pytest.raises(ConfigError, match=r"mfcc.yaml: train.lr: input should be a finite number, got"):
        load_experiment("mfcc", parse_assignments([f"train.lr={text}"]))
    with pytest.raises(ConfigError, match=r"augment.gain_db: input should be a finite number"):
        ExperimentConfig.parse({"augment": {"gain_db": float(text.lstrip("."))}})


def test_a_bad_feature_setting_is_named_by_its_full_key_path() -> None:
    with pytest.raises(ConfigError, match=r"^input\.features\[0\]\.n_fft: input should be greater than 0, got -1$"):
        ExperimentConfig.parse({"input": {"features": [{"kind": "mfcc", "n_fft": -1}]}})
    with pytest.raises(ConfigError, match=r"^unknown config key input\.features\[0\]\.n_fftt; known keys of "
                                          r"input\.features\[0\]: .*n_fft"):
        ExperimentConfig.parse({"input": {"features": [{"kind": "mfcc", "n_fftt": 3}]}})
    with pytest.raises(ConfigError, match=r"^model\.pooling\.scale: input should be 'none' or 'st', got 's'$"):
        ExperimentConfig.parse({"model": {"pooling": {"kind": "stap", "scale": "s"}}})


def test_a_bad_value_of_a_union_field_is_named_by_its_key() -> None:
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.parse({"train": {"num_workers": -1}})
    assert "train.num_workers: " in str(info.value) and "constrained-int" not in str(info.value)
    assert str(info.value).count("train.num_workers") == 1  # the union's alternatives on one line


def test_a_yes_or_true_is_no_whole_number() -> None:
    # YAML reads `yes` as true; pydantic's lax mode would take it for 1 epoch
    with pytest.raises(ConfigError, match=r"train.max_epochs: input should be a valid integer, got True"):
        load_experiment("mfcc", parse_assignments(["train.max_epochs=yes"]))


def test_parse_assignments_nested_and_typed() -> None:
    assert parse_assignments(["train.max_epochs=1", "train.lr=1e-3", "name=abc", "input.patch_size=[1, 2]",
                              "model.pooling={kind: stap, norm: true}", "description="]) == {
        "train": {"max_epochs": 1, "lr": "1e-3"},  # YAML 1.1 text; the typed config makes it a float
        "name": "abc",
        "input": {"patch_size": [1, 2]},
        "model": {"pooling": {"kind": "stap", "norm": True}},
        "description": "",
    }
    config = load_experiment("mfcc", parse_assignments(["train.lr=1e-3", "model.pooling={kind: stap, scale: st}"]))
    assert config.train.lr == 1e-3 and config.model.pooling == STAPSettings(scale="st")
    assert config.train.batch_size == 256  # the rest of the section is the preset's
    with pytest.raises(ConfigError, match="--set expects key=value, got 'novalue'"):
        parse_assignments(["novalue"])
    with pytest.raises(ConfigError, match=r"--set a.b=2: a is set both as a value and as a section"):
        parse_assignments(["a=1", "a.b=2"])
    with pytest.raises(ConfigError, match=r"--set a=1: a is set both as a section and as a value"):
        parse_assignments(["a.b=2", "a=1"])
    with pytest.raises(ConfigError, match=r"--set train.lr=\[1: not valid YAML"):
        parse_assignments(["train.lr=[1"])


def test_merge_is_deep_for_mappings_and_replaces_the_rest() -> None:
    base = {"train": {"lr": 1, "seed": 2}, "input": {"features": ["a", "b"]}, "name": "x"}
    merged = merge(base, {"train": {"lr": 3}, "input": {"features": ["c"]}})
    assert merged == {"train": {"lr": 3, "seed": 2}, "input": {"features": ["c"]}, "name": "x"}
    assert base["train"] == {"lr": 1, "seed": 2}  # the base is not changed


def test_yaml_files_are_checked(tmp_path: Path) -> None:
    cases = {
        "duplicate.yaml": ("name: a\ntrain:\n  lr: 0.1\n  lr: 0.2\n",
                           "duplicate.yaml: line 4: the key 'lr' appears twice"),
        "empty.yaml": ("", "empty.yaml: the config file is empty"),
        "comments.yaml": ("# only a comment\n", "comments.yaml: the config file is empty"),
        "list.yaml": ("- mfcc\n- cqt\n", "list.yaml: expected a mapping of sections at the top level, got list"),
        "broken.yaml": ("train: [1, 2\n", "broken.yaml: not valid YAML"),
        "unknown.yaml": ("trian: {lr: 0.1}\n", "unknown.yaml: unknown config key trian"),
    }
    for name, (text, match) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_experiment(tmp_path / name)
    with pytest.raises(ConfigError, match=r"missing.yaml: no such config file"):
        load_experiment(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"unknown preset 'mfcc4096'; presets: .*mfcc-stap"):
        load_experiment("mfcc4096")
    with pytest.raises(ConfigError, match="cannot read the config file"):
        read_config_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="--set: line 1: the key 'a' appears twice"):
        load_yaml("{a: 1, a: 2}", source="--set")
    (tmp_path / "good.yaml").write_text("name: mine\ntrain: {lr: 0.01}\n")
    assert load_experiment(tmp_path / "good.yaml").train.lr == 0.01


def test_sections_are_frozen_values_with_checked_copies() -> None:
    config = load_experiment("quick")
    changed = config.replaced(train=config.train.replaced(max_epochs=1))
    assert changed.train.max_epochs == 1 and changed.train.lr == config.train.lr == 1e-3
    assert config.train.max_epochs == 5  # the original is unchanged
    with pytest.raises(ConfigError, match=r"train.max_epochs: input should be greater than 0, got 0"):
        config.replaced(train={**config.train.to_dict(), "max_epochs": 0})
    with pytest.raises(ValueError, match="frozen"):
        config.train.lr = 1.0  # type: ignore[misc]
    # what makes two runs the same run: everything but the labels
    assert config.settings() == config.replaced(name="other", description="x").settings()
    assert config.settings() != changed.settings()


def test_the_input_section_derives_the_analysis_rate_and_the_shortest_clip() -> None:
    two = InputConfig.parse({"features": ["cqt", "mfcc1024"]})
    assert two.sample_rate == 44100 and two.min_samples == 4 * 512  # the CQT needs more than one MFCC frame
    small = InputConfig.parse({"features": [{"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64}]})
    assert small.sample_rate == 8000 and small.min_samples == 256
    assert InputConfig().features == [parse_feature("mfcc2048")]
