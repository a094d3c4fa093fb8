"""The experiment configuration: typed, validated sections built from presets (YAML) and ``--set``.

Every section is a :class:`stasc.schema.Section` (pydantic): an unknown key is refused with the
keys allowed there, a bad value with the value and what was expected, ``nan`` and ``inf`` always.
Presets live in ``stasc/presets/*.yaml``; a YAML with a duplicate key or nothing in it is refused.
``--set a.b=value`` addresses the same namespace in every command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field, NonNegativeFloat, PositiveFloat, SerializeAsAny, model_validator

from stasc.atomic import write_text
from stasc.features.registry import FeatureSettings, feature_settings, parse_feature
from stasc.models.config import ModelConfig
from stasc.schema import ConfigError, NonNegativeInt, PositiveInt, Section, StrictInt

__all__ = [
    "AugmentConfig", "ConfigError", "ExperimentConfig", "InputConfig", "MixupConfig", "TrainConfig",
    "load_experiment", "load_yaml", "merge", "parse_assignments", "preset_names", "save_experiment",
]

Feature = Annotated[SerializeAsAny[FeatureSettings], BeforeValidator(feature_settings)]


class InputConfig(Section):
    """What the network sees: features (one → 1 channel; two → stacked channels), patches, views.

    A feature is a paper name (``mfcc2048``, ``cqt`` …), a kind with its settings
    (``{kind: logmel, n_mels: 40}``) or a paper name with changed settings (``{name: mfcc2048,
    n_mfcc: 64}``); see :mod:`stasc.features.kinds`.
    """

    features: Annotated[list[Feature], Field(min_length=1)] = Field(default_factory=lambda: [parse_feature("mfcc2048")])
    mono_views: Literal[1, 3] = 1
    patch_width: PositiveInt = 128
    patch_shift: PositiveInt = 32
    patch_size: tuple[PositiveInt, PositiveInt] = (128, 128)
    cache_dtype: Literal["float32", "float16"] = "float32"
    # normalisation statistics from at most this many training clips (None: all of them)
    normalization_clips: PositiveInt | None = 2000
    # not in the paper. "mean": subtract each clip's (at prediction, each window's) per-coefficient
    # mean over time, per view, before the training-set normalisation (cepstral mean normalisation):
    # removes a recording's fixed channel and loudness colouring; it helps across speakers on FSDD.
    # "meanstd": then divide by the clip's spread over all its rows and frames (one number per view), so a
    # recording with a high noise floor or tight trimming (a small dynamic range) reaches the network as
    # contrasted as any other
    clip_norm: Literal["none", "mean", "meanstd"] = "none"
    # how a clip shorter than one patch fills the patch. "zeros": the normalised spectrogram's mean (zero after the
    # normaliser) after its end, as the paper's fixed-length clips never needed; "repeat": the clip again (and again)
    # after itself, so the patch holds only the recording and no level that depends on how tightly it was trimmed
    short_clip_pad: Literal["zeros", "repeat"] = "zeros"

    @model_validator(mode="after")
    def _one_frame_grid(self) -> InputConfig:
        if len({spec.hop_length / spec.sample_rate for spec in self.features}) > 1:
            raise ValueError("stacked features must share one frame grid (hop_length / sample_rate)")
        return self

    @property
    def sample_rate(self) -> int:
        """The analysis rate of the first feature (stacked features share the frame grid)."""
        return self.features[0].sample_rate

    @property
    def min_samples(self) -> int:
        """The shortest recording every feature can describe, at the analysis rate."""
        return max(spec.min_samples * self.sample_rate // spec.sample_rate for spec in self.features)


class MixupConfig(Section):
    """Mixup (paper §4): one λ ~ Beta(α, α) per batch; α is not given in the paper (SPEC §4)."""

    enabled: bool = False
    alpha: PositiveFloat = 0.2


class AugmentConfig(Section):
    """Augmentation of training patches for small real sets (not in the paper; all off by default).

    - ``time_shift``: roll each patch along time by a random whole number of frames in
      ``[-time_shift, time_shift]`` (what leaves at one end comes back at the other).
    - ``contrast``: scale each patch's normalised values by a random factor in ``[1 - contrast, 1 + contrast]``
      about 0, the training mean (under ``input.clip_norm: mean``, each row's own clip mean): the clip's dynamic
      range in dB widened or narrowed, as one voice or source heard closer or further, in a quieter or noisier room,
      or through a compressing recorder reaches the features with more or less contrast; any feature linear in dB
      (log-mel, CQT, and MFCC, a linear map of log-mel). Under ``input.clip_norm: meanstd``, which divides each clip's
      own contrast out, it is a regulariser only.
    - ``gain_db``: make each patch louder or quieter by a random gain in ``[-gain_db, gain_db]`` dB,
      applied where the feature shows it (every log-mel row, MFCC's c0; a CQT relative to its
      maximum does not change).
    - ``freq_warp``: stretch or squeeze each patch along frequency by a random factor in
      ``[1 - freq_warp, 1 + freq_warp]`` about its lowest row (vocal tract length perturbation,
      Jaitly & Hinton 2013): a voice or a source a little higher or lower; features whose rows are
      frequencies only (log-mel, CQT), not cepstra.
    - ``time_stretch``: slow down or speed up each patch by a random factor in ``[1 - time_stretch,
      1 + time_stretch]`` about its middle frame (tempo perturbation): a speaker talking a little
      slower or faster, an event a little longer or shorter.
    - ``filter_db``: a random equaliser per patch (FilterAugment, Nam et al. 2022): gains drawn in
      ``[-filter_db, filter_db]`` dB at ``filter_points`` frequencies (the lowest and the highest row and
      ``filter_points - 2`` random rows between) and interpolated linearly over the rows: another
      microphone, distance or room colours the same source differently; features whose rows are
      frequencies in dB only (log-mel, CQT), not cepstra.
    - ``noise_snr_db``: ``[low, high]``: add stationary noise to each patch at a signal-to-noise ratio drawn in
      ``[low, high]`` dB, the noise of the patch's own long-term spectrum (each row's mean power over the patch), so
      its quiet frames rise to a floor and its loud ones barely move: the same source recorded with a noisier
      microphone, in a noisier place or from further away. Rows in dB per frequency band only (log-mel, CQT; a
      stacked PCEN channel is left as it is).
    - ``freq_masks`` bands of 0..``freq_max_width`` rows and ``time_masks`` spans of
      0..``time_max_width`` frames set to the training mean (SpecAugment, Park et al. 2019).

    Gain and equaliser act on the normalised patch; under ``input.clip_norm: mean`` (or ``meanstd``), which removes
    a real gain or static filter from every clip, they are only random per-row offsets, a regulariser (training says so:
    :meth:`ExperimentConfig.offsets_only`).
    """

    time_shift: NonNegativeInt = 0
    contrast: Annotated[float, Field(ge=0, lt=1)] = 0.0
    gain_db: NonNegativeFloat = 0.0
    freq_warp: Annotated[float, Field(ge=0, lt=1)] = 0.0
    time_stretch: Annotated[float, Field(ge=0, lt=1)] = 0.0
    filter_db: NonNegativeFloat = 0.0
    filter_points: Annotated[StrictInt, Field(ge=2)] = 4
    noise_snr_db: tuple[float, float] | None = None
    freq_masks: NonNegativeInt = 0
    freq_max_width: NonNegativeInt = 8
    time_masks: NonNegativeInt = 0
    time_max_width: NonNegativeInt = 16

    @property
    def enabled(self) -> bool:
        return (self.time_shift > 0 or self.contrast > 0 or self.gain_db > 0 or self.freq_warp > 0
                or self.time_stretch > 0 or self.filter_db > 0 or self.noise_snr_db is not None
                or (self.freq_masks > 0 and self.freq_max_width > 0)
                or (self.time_masks > 0 and self.time_max_width > 0))

    @model_validator(mode="after")
    def _noise_range_ordered(self) -> AugmentConfig:
        if self.noise_snr_db is not None and self.noise_snr_db[0] > self.noise_snr_db[1]:
            raise ValueError(f"augment.noise_snr_db is [low, high] dB; got low {self.noise_snr_db[0]} above high "
                             f"{self.noise_snr_db[1]}")
        return self


class TrainConfig(Section):
    """The paper's recipe (§6.2) by default: Adam 1e-4, L2 5e-4, batch 256, ≤100 epochs, patience 20.

    Model selection (SPEC §4): ``selection: validation`` (the default) carves a grouped, stratified
    ``validation_fraction`` of the training side's groups out for early stopping and the best
    checkpoint, and scores the test fold once with the selected model; ``test-fold`` is the
    paper's protocol (the held-out fold chooses the epoch: optimistic); ``last`` trains
    ``max_epochs`` on the whole training side and keeps the last epoch (no selection, nothing held
    back, ``validation_fraction`` unused). ``validation_part``: what the validation part is. ``groups``: the
    ``validation_fraction`` of the training side's groups, drawn at random; ``fold``: one whole fold of the training
    side (the cross-validation's folds: the dataset's own or the grouped ones), the fold after the test fold, so a
    validation clip is as far from the training clips as a test clip is (on ESC-10 the same models scored about 2
    points higher on random source recordings of the training folds than on the test fold: README, "Tuning
    `envsound`"). ``monitor``: what the selection maximises (accuracy) or
    minimises (log loss) on the selection clips; ``selection_window``: the selection (and early
    stopping) goes by the mean of the last that many epochs' values, which steadies the choice on a
    small validation part (40 clips swing by several points from one epoch to the next); the kept
    model is the last epoch of the best window.
    """

    lr: PositiveFloat = 1e-4
    weight_decay: NonNegativeFloat = 5e-4
    # "adam": the paper's Adam with its weight decay as a coupled L2 penalty (added to the gradient, then scaled by
    # Adam's per-weight step sizes); "adamw": the decay decoupled from the gradient (each step shrinks every weight by
    # lr · weight_decay, AdamW), so it regularises every weight alike whatever its gradient's scale
    optimizer: Literal["adam", "adamw"] = "adam"
    batch_size: PositiveInt = 256
    eval_batch_size: PositiveInt = 512
    max_epochs: PositiveInt = 100
    patience: PositiveInt = 20
    seed: StrictInt = 0
    # data-loading workers per process; auto: none on CPU, the cores per GPU on CUDA
    num_workers: NonNegativeInt | Literal["auto"] = "auto"
    accelerator: str = "auto"
    devices: PositiveInt = 1
    num_nodes: PositiveInt = 1
    strategy: str = "auto"
    # auto: bf16-mixed on CUDA and on CPUs with native bfloat16 (AMX / AVX512-BF16: 2-3x faster training,
    # benchmarks/throughput.py), else 32-true
    precision: str = "auto"
    channels_last: bool = True  # the weights' and inputs' memory layout in training (faster on cuDNN and oneDNN)
    # torch.compile the network for training and evaluation (CUDA: fuses BatchNorm/ReLU, fewer kernel launches)
    compile: bool = False
    limit_train_batches: Annotated[float, Field(gt=0, le=1)] = 1.0
    # not in the paper (constant lr): cosine decays the lr to 0 over max_epochs, which steadies the
    # epoch-to-epoch swings of validation accuracy on small sets
    lr_schedule: Literal["constant", "cosine"] = "constant"
    selection: Literal["validation", "test-fold", "last"] = "validation"
    validation_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.125
    validation_part: Literal["groups", "fold"] = "groups"
    monitor: Literal["val_acc", "val_loss"] = "val_acc"
    selection_window: PositiveInt = 1
    # not in the paper. "drop": a training patch with no frame above the first feature's dB floor (digital silence,
    # as ESC pads its short sources with; the floor of model.patch_weights 'sound') is not trained on, since it
    # would teach the clip's label to silence; a clip whose every patch is silent keeps them all. "weight": "drop",
    # and each remaining patch's loss weighted by its share of sounding frames (the weights model.patch_weights
    # 'sound' scores with), so a patch that is mostly padding teaches its label mostly through its sound.
    # "keep": every patch, each weighing the same
    silent_patches: Literal["keep", "drop", "weight"] = "keep"
    # not in the paper: the model kept (selected, checkpointed, scored, exported) is an exponential moving average of
    # the weights over about this many epochs (its time constant; training/averaging.py); null: the weights as trained
    ema_epochs: PositiveFloat | None = None

    @model_validator(mode="after")
    def _selection_needs_clips(self) -> TrainConfig:
        if self.selection == "validation" and self.validation_part == "groups" and self.validation_fraction == 0:
            raise ValueError("selection 'validation' needs validation_fraction > 0 (or validation_part 'fold', "
                             "or selection 'last')")
        if "spawn" in self.strategy:
            # the spawned processes' results (the validation predictions the selection and the report
            # need) never come back to the launching process
            raise ValueError(f"train.strategy {self.strategy!r} is not supported: use 'ddp' (with devices > 1, or "
                             "under torchrun/SLURM), which keeps every process's results")
        return self


class ExperimentConfig(Section):
    """A whole run: input, network, mixup, augmentation and training settings."""

    name: str = "custom"
    description: str = ""
    input: InputConfig = Field(default_factory=InputConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    mixup: MixupConfig = Field(default_factory=MixupConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _channels_match(self) -> ExperimentConfig:
        if self.model.in_channels != len(self.input.features):
            raise ValueError(
                f"model.in_channels ({self.model.in_channels}) must equal the number of stacked "
                f"input.features ({len(self.input.features)})"
            )
        return self

    @model_validator(mode="after")
    def _warp_and_filter_need_frequency_rows(self) -> ExperimentConfig:
        cepstral = [spec.kind for spec in self.input.features if not spec.rows_are_frequencies]
        if self.augment.freq_warp > 0 and cepstral:
            raise ValueError(f"augment.freq_warp stretches frequency rows; {', '.join(cepstral)} rows are cepstral "
                             "coefficients (use logmel or cqt features, or freq_warp 0)")
        if self.augment.filter_db > 0 and cepstral:
            raise ValueError(f"augment.filter_db gives frequency rows their own gains; {', '.join(cepstral)} rows are "
                             "cepstral coefficients (use logmel or cqt features, or filter_db 0)")
        if self.augment.noise_snr_db is not None and cepstral:
            raise ValueError(f"augment.noise_snr_db adds noise to frequency rows in dB; {', '.join(cepstral)} rows are "
                             "cepstral coefficients (use logmel or cqt features, or leave noise_snr_db unset)")
        if any(f != 1.0 for f in self.model.test_time_warps) and cepstral:
            raise ValueError(f"model.test_time_warps stretch frequency rows; {', '.join(cepstral)} rows are cepstral "
                             "coefficients (use logmel or cqt features, or test_time_warps [1.0])")
        level_free = [spec.kind for spec in self.input.features if spec.rows_are_frequencies and not spec.rows_in_db]
        for key, on in (("gain_db", self.augment.gain_db > 0), ("filter_db", self.augment.filter_db > 0),
                        ("noise_snr_db", self.augment.noise_snr_db is not None)):
            if on and len(level_free) == len(self.input.features):
                raise ValueError(f"augment.{key} changes levels in dB; {', '.join(level_free)} rows divide each band's "
                                 f"level out, so it would leave every input as it is (stack a logmel or cqt feature, "
                                 f"or turn {key} off)")
        first = self.input.features[0]
        if first.rows_are_frequencies and first.rows_in_db:
            return self
        what = "cepstral coefficients" if not first.rows_are_frequencies else "level-normalised, not dB"
        if self.model.patch_weights == "sound":
            raise ValueError(f"model.patch_weights 'sound' finds silent frames at the dB floor of the first feature's "
                             f"frequency rows; {first.kind} rows are {what} (put a logmel or cqt feature first, or "
                             "use patch_weights 'equal')")
        if self.train.silent_patches != "keep":
            raise ValueError(f"train.silent_patches '{self.train.silent_patches}' finds silent frames at the dB floor "
                             f"of the first feature's frequency rows; {first.kind} rows are {what} (put a logmel or "
                             "cqt feature first, or use silent_patches 'keep')")
        return self

    def offsets_only(self) -> str | None:
        """What the level and equaliser draws are where the clip normalisation has already removed a real gain or
        static filter from every clip (``input.clip_norm: mean``): random per-row offsets that evaluation never
        meets, a regulariser and not robustness to level or microphone. ``None`` where they are what they say.
        Training logs it once per split; a preset may take them on purpose (``sample`` takes the equaliser)."""
        augment = self.augment
        shifted = [f"augment.{name}" for name, on in (("gain_db", augment.gain_db > 0),
                                                       ("filter_db", augment.filter_db > 0)) if on]
        if self.input.clip_norm == "none" or not shifted:
            return None
        return (f"{' and '.join(shifted)} with input.clip_norm '{self.input.clip_norm}': the clip normalisation "
                "removes any real gain "
                "or static equalisation, so these only add random per-row offsets that evaluation never sees "
                "(a regulariser, not robustness to level or microphone)")

    def settings(self) -> dict[str, Any]:
        """Everything but the labels (name, description): what makes two runs the same run."""
        return {k: v for k, v in self.to_dict().items() if k not in ("name", "description")}


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that names a key twice (YAML itself keeps the last)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: the key {key!r} appears twice")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text (``source`` names it in errors); duplicate keys are an error."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})") from None


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1, 2]"]`` → ``{"a": {"b": 1}, "c": [1, 2]}``; values are read as YAML."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        value = load_yaml(text, source=f"--set {item}") if text.strip() else ""
        node = result
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {part} is set both as a value and as a section")
        if isinstance(node.get(leaf), dict) and not isinstance(value, dict):
            raise ConfigError(f"--set {item}: {key.strip()} is set both as a section and as a value")
        node[leaf] = value
    return result


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML config file as a mapping; missing, empty, non-mapping or duplicate-key files are refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror or err})") from None
    data = load_yaml(text, source=str(path))
    if data is None:
        raise ConfigError(f"{path}: the config file is empty")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return dict(data)


def load_experiment(preset: str | Path, overrides: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """A preset by name (``stasc/presets/NAME.yaml``) or a YAML file path, with ``--set`` overrides."""
    path = Path(preset)
    if not path.suffix:
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.is_file():
            raise ConfigError(f"unknown preset {str(preset)!r}; presets: {', '.join(preset_names())}")
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    data = merge(read_config_file(path), overrides or {})
    try:
        return ExperimentConfig.parse(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def save_experiment(config: ExperimentConfig, path: str | Path) -> None:
    """Write the resolved configuration as YAML, atomically (a uniquely named temporary file renamed)."""
    write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
