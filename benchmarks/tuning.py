"""Choose a preset's recipe without the test folds: every variant is scored on validation parts only.

    python benchmarks/tuning.py --data fsdd [--variants "A;B"] [--out benchmarks/results/tuning-fsdd]
    python benchmarks/tuning.py --data esc10 [--variants "A;B"] [--out benchmarks/results/tuning-esc10]
    python benchmarks/tuning.py --data esc10 --validation-part fold [--variants "A;B"]   # a whole fold validates
    python benchmarks/tuning.py --data fsdd --epochs 1 --clips-per-class 2 --out /tmp/smoke   # a smoke run

Each variant runs the data set's cross-validation (FSDD: 5 folds grouped by speaker; ESC-10: its 5
official folds) with ``train.selection=validation``: each split's training side gives up a grouped,
stratified validation part (on FSDD one of its four speakers; on ESC-10 1/8 of its source
recordings). A variant's score is the accuracy of that validation part at the end of training (the
mean of its last three epochs, since the presets keep the last epoch), averaged over the splits.
The test folds' predictions are written by the cross-validation but never read here: a recipe chosen
from this table has not seen the folds that `benchmarks/accuracy.py` then reports.

What remains: the choice is one for all splits, and split A's validation speaker is split B's test
speaker; the table therefore also says which variant each split's own validation part prefers (where
they all agree, a nested cross-validation would have chosen the same). Prints the table, writes
tuning.md, tuning.json and tuning.png into --out; a rerun resumes finished folds, and the table keeps the variants
an earlier run wrote into the same --out.

``--validation-part fold`` (``train.validation_part: fold``) validates each split on the whole fold after its test
fold instead: 80 ESC-10 clips a split rather than ~42, every fold validated once, and a validation clip as far from
the clips trained on as a test clip is. On ESC-10 the random 1/8 of source recordings scored higher than the test
fold in 16 of 18 tuning runs, by 2.2 points (the same models; README "Tuning `envsound`"): something easier than what
the test folds ask; the whole fold trains on 3 folds (240 clips) instead of 280.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from accuracy import BAND_22K, DATA, NO_EQUALISER, first_clips, full_band, seed_rows, slug
from stasc.atomic import replacing
from stasc.config import load_experiment, merge
from stasc.data import ClipTable, read_csv
from stasc.evaluation.plots import accuracy_bars
from stasc.runs import RunDir
from stasc.training.cross_validation import cross_validate

LAST_EPOCHS = 3  # the validation figure: mean accuracy of the last three epochs (one epoch swings on 40 clips)

# spectrogram augmentation sized for FSDD's 40 x 64 patches (~0.5 s of speech)
FSDD_AUGMENT = {"time_shift": 8, "gain_db": 6, "freq_masks": 2, "freq_max_width": 6, "time_masks": 2,
                "time_max_width": 8}
# Each variant states its width, pooling and warp itself, so its name stays true whatever the preset says now.
# BEFORE: `sample` before its tuning; WARP: `sample` as that tuning chose it (2026-12-02, 1/4 width; 1/2 since).
# All one network (the preset averages two since 2026-12-06), scored without test-time warps (the preset's since
# 2026-12-06, chosen by re-scoring these runs: benchmarks/warps.py)
ONE_PLAIN = {"members": 1, "test_time_warps": [1.0]}
# No random equaliser, no random contrast, and mel bands from 0 Hz, unless the name says otherwise (the preset has an
# equaliser since 2026-12-07, its bands from 60 Hz since later that day, and a random contrast since the tenth session).
BEFORE = merge(NO_EQUALISER, {"model": {"pooling": {"kind": "stap", "norm": True}, "width_multiplier": 0.25,
                                         **ONE_PLAIN}, "augment": {"freq_warp": 0.0}})
MEAN = merge(NO_EQUALISER, {"model": {"pooling": "mean", "width_multiplier": 0.25, **ONE_PLAIN},
                            "augment": {"freq_warp": 0.0}})
WARP = merge(MEAN, {"augment": {"freq_warp": 0.15}})
# HALF_BF16: `sample` as of 2026-12-03 (warp 0.15, 1/2 width) under bfloat16 autocast (a third of the time on AMX)
HALF_BF16 = merge(WARP, {"model": {"width_multiplier": 0.5}, "train": {"precision": "bf16-mixed"}})
# ENV_WARP: `envsound` as its first tuning chose it (2026-12-02: warp 0.1, lr 0.001; lr 0.002 since 2026-12-03)
# (no equaliser in any of these: the preset has one since 2026-12-06; all on 64 bands to 11 kHz at 22.05 kHz unless the
# name says 44.1 kHz: the preset takes the full band since 2026-12-07; in 64 x 128 patches with masks to 8 bands unless
# the name says 128 bands, as the preset since its later switch that day)
ENV_WARP = merge(BAND_22K, {"augment": {"freq_warp": 0.1, "filter_db": 0.0}, "train": {"lr": 0.001},
                            "model": {"pooling": "mean", "members": 1, "dropout": 0.0}})
ENV_WARP_OFF = merge(ENV_WARP, {"augment": {"freq_warp": 0.0}})
# ENV_BF16: `envsound` as of 2026-12-03 (warp 0.1, lr 0.002) trained under bfloat16 autocast, which needs a third of
# the time on a CPU with AMX and lets a variant spend that on width or epochs inside the 30-minute budget; one network
# (the preset averages two since 2026-12-04)
ENV_BF16 = merge(BAND_22K, {"augment": {"freq_warp": 0.1, "filter_db": 0.0},
                            "train": {"lr": 0.002, "precision": "bf16-mixed"},
                            "model": {"pooling": "mean", "members": 1, "dropout": 0.0}})
# rain, sea waves and fire differ above 11 kHz; at 128 bands the patches are 128 x 128 (2x the compute)
ENV_FULL_BAND = full_band(64)
# both bands at once: the 22.05 kHz log-mel (64 bands to 11 kHz) and the 44.1 kHz one (64 bands to 22 kHz) stacked as
# two channels on the same frame grid; only the first convolution grows (2 input channels instead of 1)
ENV_TWO_BANDS = {"input": {"features": [*BAND_22K["input"]["features"], *full_band()["input"]["features"]]},
                 "model": {"in_channels": 2}}
ENV_FULL_BAND_128 = full_band(128)  # masks to 8 bands, as the preset then
# the whole clip as one patch (216 frames = 5 s at 22.05 kHz, hop 512) instead of 3 s windows 32 frames apart: a
# quarter of ESC-10's clips are half silence, and a 3 s window of silence is trained with the clip's label. One
# patch a clip is 0.46x the compute of an epoch of windows, so 80 epochs cost about what 40 did
ENV_WHOLE_CLIP = {"input": {"patch_width": 216, "patch_size": [64, 216]}, "model": {"input_size": [64, 216]},
                  "train": {"max_epochs": 80, "patience": 80}}
# ENV_TWO: `envsound` as of 2026-12-04 (two members averaged in one model), under bf16 autocast
ENV_TWO = merge(ENV_BF16, {"model": {"members": 2}})
# ENV_DROPOUT: `envsound` as of 2026-12-06 (two members, a random equaliser, dropout 0.3), under bf16 autocast
ENV_DROPOUT = merge(ENV_TWO, {"augment": {"filter_db": 6.0, "filter_points": 4}, "model": {"dropout": 0.3}})
# SAMPLE_FMIN_60: `sample` as of the afternoon of 2026-12-07 (two members, the equaliser, mel bands from 60 Hz), scored
# without test-time warps as every tuning row
SAMPLE_FMIN_60 = merge(HALF_BF16, {
    "model": {"members": 2}, "augment": {"filter_db": 6.0, "filter_points": 4},
    "input": {"features": [{"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40,
                            "fmin": 60.0}]}})
MELS_64 = {"input": {"features": [{"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64,
                                   "n_mels": 64}], "patch_size": [64, 64]}, "model": {"input_size": [64, 64]}}

# the preset since the ninth session of 2026-12-07, as tuned (bf16 pinned)
ENV_SILENT_DROPPED = merge(ENV_DROPOUT, merge(full_band(128, freq_max_width=16), {
    "model": {"patch_weights": "sound"}, "train": {"silent_patches": "drop"}}))



def with_pcen(features: list[dict[str, Any]]) -> dict[str, Any]:
    """``features`` and then PCEN on the first one's mel grid, one input channel each. The log-mel stays first: the
    patch weights, the silent patches and the gain and equaliser augmentations need its dB rows."""
    return {"input": {"features": [*features, {**features[0], "kind": "pcen"}]},
            "model": {"in_channels": len(features) + 1}}


# 64 bands on a frame grid twice as fine (hop 512 at 44.1 kHz): patches of 128 frames span 1.5 s, starting every 0.74 s
FINE_HOP = merge(full_band(64, hop_length=512), {"input": {"patch_shift": 64}})

VARIANTS: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "fsdd": {
        "sample, as before (STAP, mixup, no augmentation)": ("sample", BEFORE),
        "temporal mean instead of STAP": ("sample", MEAN),
        "temporal mean + shift, gain, masks": ("sample", merge(MEAN, {"augment": FSDD_AUGMENT})),
        "temporal mean + frequency warp 0.15": ("sample", WARP),
        "temporal mean + shift, gain, masks, frequency warp 0.15": (
            "sample", merge(WARP, {"augment": FSDD_AUGMENT})),
        "temporal mean + frequency warp 0.1": ("sample", merge(MEAN, {"augment": {"freq_warp": 0.1}})),
        "temporal mean + frequency warp 0.25": ("sample", merge(MEAN, {"augment": {"freq_warp": 0.25}})),
        "temporal mean + frequency warp 0.15 and masks": (
            "sample", merge(WARP, {"augment": {"freq_masks": 2, "freq_max_width": 6, "time_masks": 2,
                                               "time_max_width": 8}})),
        "temporal mean + frequency warp 0.15, 40 epochs": (
            "sample", merge(WARP, {"train": {"max_epochs": 40, "patience": 40}})),
        "warp 0.15 + time shift 8": ("sample", merge(WARP, {"augment": {"time_shift": 8}})),
        "warp 0.15, 1/2 width": ("sample", merge(WARP, {"model": {"width_multiplier": 0.5}})),
        "warp 0.15, 1/2 width, 30 epochs": (
            "sample", merge(WARP, {"model": {"width_multiplier": 0.5}, "train": {"max_epochs": 30, "patience": 30}})),
        "warp 0.15, 3/4 width": ("sample", merge(WARP, {"model": {"width_multiplier": 0.75}})),
        # seeds 1 and 2 (2026-12-06) beside seed 0, for the 2-member rows below
        **seed_rows("warp 0.15, 1/2 width, bf16", ("sample", HALF_BF16)),
        "warp 0.15, 1/2 width, bf16, time stretch 0.1": (
            "sample", merge(HALF_BF16, {"augment": {"time_stretch": 0.1}})),
        "warp 0.15, 1/2 width, bf16, time stretch 0.2": (
            "sample", merge(HALF_BF16, {"augment": {"time_stretch": 0.2}})),
        "warp 0.15, 1/2 width, bf16, 3 members averaged": ("sample", merge(HALF_BF16, {"model": {"members": 3}})),
        # 2026-12-06, training twice as fast: two members over three seeds (adopt if the three-seed mean is higher)
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged",
                    ("sample", merge(HALF_BF16, {"model": {"members": 2}}))),
        # 2026-12-07: the random equaliser `envsound` took (FilterAugment, ±6 dB at 4 frequencies). Under `sample`'s
        # per-clip mean normalisation it is a regulariser (random per-row offsets), not microphone robustness. The
        # rule, fixed before the runs: adopt if the three-seed mean is above the two members' 85.54 % (85.07, 86.23,
        # 85.33). Result: 87.1 % (87.9, 86.9, 86.6), every seed up: adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB",
                    ("sample", merge(HALF_BF16, {"model": {"members": 2},
                                                 "augment": {"filter_db": 6.0, "filter_points": 4}}))),
        # 2026-12-07: the mel bands from 60 Hz instead of 0. Speaker nicolas (the test fold that keeps `sample`'s
        # spread over 4) records with a DC offset (mean sample 0.007 against 0.000 for the other four) that fills the
        # lowest band, which reaches 0 Hz; 60 Hz is under any voice's fundamental. The rule, fixed before the runs:
        # adopt if the three-seed mean is above the preset's 87.10 % (87.87, 86.87, 86.57). Result: 87.21 % (86.12,
        # 88.51, 87.01): above by 0.11 (noise; one seed down, two up), so adopted by the rule
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz",
                    ("sample", SAMPLE_FMIN_60)),
        # 2026-12-07 (eighth session): a clip shorter than a patch (2,042 of FSDD's 2,500) filled with itself repeated
        # instead of zeros. Under per-clip mean normalisation the zero pad is the clip's own mean level, which sits
        # near the speech in a tightly trimmed clip and far below it in one with silence around the word, so the
        # pad means something different for each speaker's trimming; repeated, the patch holds only the recording.
        # The rule, fixed before the runs: adopt if the three-seed mean is above the preset's 87.21 % (86.12, 88.51,
        # 87.01). Result: 86.37 % (85.8, 88.9, 84.4): not adopted (`input.short_clip_pad` stays an option)
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "short clips repeated", ("sample", merge(SAMPLE_FMIN_60, {"input": {"short_clip_pad": "repeat"}}))),
        # 2026-12-07 (ninth session): each clip's log-mel divided by its own spread after the per-row mean
        # (`input.clip_norm: meanstd`). The test speaker who keeps the spread over 4, `nicolas`, reaches the network
        # with the least contrast: the spread of his mean-removed log-mel is 7.8 dB against 9.5-13.5 for the other
        # four (a tightly trimmed, noisier recording); divided by it, every voice has one dynamic range. The rule,
        # fixed before the runs: adopt if the three-seed mean is above the preset's 87.21 % (86.12, 88.51, 87.01).
        # Result: 83.51 % (83.68, 85.73, 81.12), every seed down: not adopted (`input.clip_norm: meanstd` stays)
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "each clip divided by its spread", ("sample", merge(SAMPLE_FMIN_60,
                                                                          {"input": {"clip_norm": "meanstd"}}))),
        # 2026-12-07 (ninth session): mean + max pooling over time instead of the mean alone. 2,042 of the 2,500 clips
        # are shorter than a patch and zero-padded; the temporal mean averages the pad in, so a word's representation
        # depends on how tightly its speaker trimmed (a speaker's mean clip is 44 to 65 frames of 64), and the max over
        # time does not: a voice-independent summary beside the mean. The rule, fixed before the runs:
        # adopt if the three-seed mean is above the preset's 87.21 % (86.12, 88.51, 87.01). Result: 86.92 % (85.75,
        # 89.07, 85.93), two seeds down: not adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "mean + max pooling", ("sample", merge(SAMPLE_FMIN_60, {"model": {"pooling": "meanmax"}}))),
        # 2026-12-07 (tenth session): a random contrast in training (`augment.contrast: 0.3`, each patch's
        # mean-removed log-mel scaled by a factor in [0.7, 1.3]). The test speaker who keeps the spread over 4,
        # `nicolas`, reaches the network with 7.8 dB of spread about his rows' means against 9.5-13.5 for the other
        # four (0.58-0.82 of theirs); dividing every clip's spread out (`meanstd`, above) lost on every seed, so this
        # keeps each clip's contrast and teaches the network that it varies. The rule, fixed before the runs: adopt if
        # the three-seed mean is above the preset's 87.21 % (86.12, 88.51, 87.01). Result: 87.29 % (86.28, 89.19,
        # 86.39): above by 0.08 (noise; two seeds up, one down), so adopted by the rule (the preset since)
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3", ("sample", merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3}}))),
        # 2026-12-07 (eleventh session): dropout 0.3 on the pooled vector before the classifier, as envsound has had
        # since 2026-12-06 (+0.5 on its validation parts). The test speaker who keeps the spread over 4, nicolas, is
        # the voice least like the others; a regulariser on the features the classifier reads is the lead that has not
        # been measured here. The rule, fixed before the runs: adopt if the three-seed mean is above the preset's
        # 87.29 % (86.28, 89.19, 86.39). Result: 87.44 % (86.28, 89.43, 86.61; 6.0-6.9 min a seed), one seed level and
        # two up by a quarter point: noise, adopted because the rule says so (the preset since)
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3, dropout 0.3",
                    ("sample", merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3}, "model": {"dropout": 0.3}}))),
        # 2026-12-07 (twelfth session): the preset with its weight decay decoupled from the gradient (AdamW, decay 0.05:
        # every step shrinks each weight by lr x 0.05) instead of Adam's coupled L2 of 5e-4, which Adam's per-weight
        # step sizes scale away where gradients are large. A regulariser on every weight alike, against learning the
        # four training voices' particulars; the test speaker nicolas still keeps the spread over 4. The rule, fixed
        # before the runs: adopt if the three-seed mean is above the preset's 87.44 % (86.28, 89.43, 86.61). Result:
        # 87.27 % (86.09, 89.44, 86.29; 9.3-10.8 min a seed): below, not adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3, dropout 0.3, AdamW 0.05",
                    ("sample", merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3}, "model": {"dropout": 0.3},
                                                      "train": {"optimizer": "adamw", "weight_decay": 0.05}}))),
        # 2026-12-07 (twelfth session): the preset with PCEN stacked after its log-mel as a second channel (each mel
        # band divided by its own level over 0.4 s, then compressed: features/kinds/pcen.py). nicolas, the test speaker
        # who keeps the spread over 4, reaches the network with a smaller dynamic range than the other four (7.8 dB of
        # spread about his rows' means against 9.5-13.5); PCEN gives every voice's onsets the same relief whatever the
        # recording's level, noise floor or colouring. The rule, fixed before the runs: adopt if the three-seed mean is
        # above the preset's 87.44 % (86.28, 89.43, 86.61), or above the AdamW variant's if that is adopted first (it
        # was not). Seed 0 (twelfth session): 85.5 % (93.5, 86.5, 77.7, 90.6, 79.5) against the preset's seed 0 86.28;
        # 19.1 min (twice AdamW's 9.3-10.8 that session: two channels of patches). Seed 1: 87.8 % (88.5, 91.3, 83.4,
        # 94.2, 81.6) against the preset's 89.43; 16.3 min. Seed 2 (thirteenth session; it had to reach 89.02 %):
        # 86.5 % (93.0, 85.9, 79.9, 79.3, 94.6; 15.2 min). Over three seeds 86.63 % (85.55, 87.79, 86.55) against
        # 87.44, every seed down: not adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3, dropout 0.3, PCEN channel",
                    ("sample", merge(merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3}, "model": {"dropout": 0.3}}),
                                     with_pcen(SAMPLE_FMIN_60["input"]["features"])))),
        # 2026-12-08 (thirteenth session): the preset keeping a moving average of its weights (train.ema_epochs 2: a
        # time constant of a tenth of its 20 epochs) instead of the weights of its last step. A run keeps the last
        # epoch's model, one noisy draw from where the weights wander; over seeds the test speakers' accuracies move by
        # a point or more (nicolas 82.2-83.0) and the validation speakers' by three, and an average of the weights over
        # the last epochs is a flatter, steadier point (Polyak averaging; SWA, Izmailov et al. 2018). The rule, fixed
        # before the runs: adopt if the three-seed mean is above the preset's 87.44 % (86.28, 89.43, 86.61), or above
        # the PCEN variant's if that is adopted first (it was not). Result: 87.43 % (86.44, 89.21, 86.64; 14.9-15.8 min
        # a seed): level with the preset (below it by 0.01, under one clip prediction in 7,500), not above: not adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3, dropout 0.3, weights averaged over 2 epochs",
                    ("sample", merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3}, "model": {"dropout": 0.3},
                                                      "train": {"ema_epochs": 2.0}}))),
        # 2026-12-08 (thirteenth session): the preset with a random noise floor in training (augment.noise_snr_db
        # [10, 30]: each patch gets stationary noise of its own long-term spectrum at an SNR drawn in 10-30 dB, so its
        # quiet frames rise to a floor and its loud ones barely move). nicolas, the test speaker who keeps the spread
        # over 4, records with a higher floor: 7.8 dB of spread about his rows' means against 9.5-13.5 for the other
        # four. Scaling each patch's contrast (adopted, +0.08) moves loud and quiet frames alike; a floor is what a
        # noisier recording does. The rule, fixed before the runs: adopt if the three-seed mean is above the preset's
        # 87.44 % (86.28, 89.43, 86.61) and above the moving-average variant's (above) if that passes 87.44 too; the
        # two are not combined untested. Result: 86.71 % (85.80, 90.24, 84.09; 12.1-15.8 min a seed): not adopted
        **seed_rows("warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                    "contrast ±0.3, dropout 0.3, noise floor at 10-30 dB SNR",
                    ("sample", merge(SAMPLE_FMIN_60, {"augment": {"contrast": 0.3, "noise_snr_db": [10.0, 30.0]},
                                                      "model": {"dropout": 0.3}}))),
        "warp 0.15, 64 mel bands": ("sample", merge(WARP, MELS_64)),
        "warp 0.15, mixup alpha 0.4": ("sample", merge(WARP, {"mixup": {"alpha": 0.4}})),
    },
    "esc10": {
        "envsound without frequency warp (before 2026-12-03)": ("envsound", ENV_WARP_OFF),
        "envsound + frequency warp 0.1": ("envsound", ENV_WARP),
        "envsound + frequency warp 0.1, 60 epochs": (
            "envsound", merge(ENV_WARP, {"train": {"max_epochs": 60, "patience": 60}})),
        "envsound + frequency warp 0.1, per-clip mean normalisation": (
            "envsound", merge(ENV_WARP, {"input": {"clip_norm": "mean"}})),
        "envsound + frequency warp 0.1, batch 32": ("envsound", merge(ENV_WARP, {"train": {"batch_size": 32}})),
        "envsound + frequency warp 0.1, lr 0.002": ("envsound", merge(ENV_WARP, {"train": {"lr": 0.002}})),
        "envsound + frequency warp 0.1, lr 0.003": ("envsound", merge(ENV_WARP, {"train": {"lr": 0.003}})),
        "envsound + frequency warp 0.1, lr 0.002, bf16, full width": (
            "envsound", merge(ENV_BF16, {"model": {"width_multiplier": 1.0}})),
        "envsound + frequency warp 0.1, lr 0.002, bf16, 80 epochs": (
            "envsound", merge(ENV_BF16, {"train": {"max_epochs": 80, "patience": 80}})),
        # the preset as of 2026-12-03 and mean + max pooling, each with seeds 1 and 2: a third of a point on one seed is
        # inside seed noise, so three seeds of both decided between them
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16", ("envsound", ENV_BF16)),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, mean + max pooling",
                    ("envsound", merge(ENV_BF16, {"model": {"pooling": "meanmax"}}))),
        "envsound + frequency warp 0.1, lr 0.002, bf16, the whole clip, 80 epochs": (
            "envsound", merge(ENV_BF16, ENV_WHOLE_CLIP)),
        "envsound + frequency warp 0.1, lr 0.002, bf16, the whole clip, 80 epochs, mean + max pooling": (
            "envsound", merge(ENV_BF16, merge(ENV_WHOLE_CLIP, {"model": {"pooling": "meanmax"}}))),
        "envsound + frequency warp 0.1, lr 0.002, bf16, 44.1 kHz (64 bands to 22 kHz)": (
            "envsound", merge(ENV_BF16, ENV_FULL_BAND)),
        # both bands stacked as two channels (2026-12-04; stopped after 2 of the 5 splits, both below the preset's:
        # the bundled sample, 22.05 kHz, could not feed its second channel anyway)
        "envsound + frequency warp 0.1, lr 0.002, bf16, 22.05 and 44.1 kHz log-mel stacked": (
            "envsound", merge(ENV_BF16, ENV_TWO_BANDS)),
        # an ensemble inside one model: 2 members (at 2.6 min a split on 2026-12-04, the most that keep the 5-fold CV
        # within 30 minutes), each trained on its own augmentation draw, probabilities averaged. Seed 0 draws the
        # validation parts of the preset's seed-0 row (90.0 %): adopted if higher on those (rule fixed before it ran)
        # it tied the preset's seed 0 (90.0 against 90.0 %): seeds 1 and 2 decided, as for mean + max (adopt it if its
        # three-seed mean is above the preset's 89.6 %; rule fixed before they ran): 89.7 %, adopted
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged", ("envsound", ENV_TWO)),
        "envsound + frequency warp 0.1, lr 0.002, bf16, 44.1 kHz, 128 bands": (
            "envsound", merge(ENV_BF16, ENV_FULL_BAND_128)),
        # 2026-12-06: training without the 1 MiB mmap threshold runs twice as fast, so a variant may spend up to twice
        # the preset's compute inside the 30-minute budget. The test folds' errors are mostly among the broadband
        # textures (helicopter, rain, chainsaw, fire), which differ above 11 kHz: the full band, with three seeds
        # from the start (one seed cannot rank recipes a point apart), then more members or epochs
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, 44.1 kHz (64 bands to 22 kHz)",
                    ("envsound", merge(ENV_TWO, ENV_FULL_BAND))),
        # a random equaliser (FilterAugment, ±6 dB at 4 frequencies): most test errors are whole source recordings of
        # one class heard as another (benchmarks/members.py: more members no longer help), as if another microphone,
        # distance or room coloured them; adopt if the three-seed mean is above the preset's 89.7 % (fixed before):
        # 91.0 % (90.5, 89.5, 92.9), adopted
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB",
                    ("envsound", merge(ENV_TWO, {"augment": {"filter_db": 6.0, "filter_points": 4}}))),
        # the preset since then for 60 epochs instead of 40 (about 19 min for the 5-fold CV, inside 30): adopt if the
        # three-seed mean is above the preset's 91.0 % (rule fixed before the runs)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, 60 epochs",
                    ("envsound", merge(ENV_TWO, {"augment": {"filter_db": 6.0, "filter_points": 4},
                                                 "train": {"max_epochs": 60, "patience": 60}}))),
        # 2026-12-06 (second session): two regularisers against hearing a whole source recording as another
        # class, screened on seed 0 first. The rule, fixed before: go on to seeds 1 and 2 only if seed 0 beats the
        # preset's seed 0 (90.5 %); adopt if the three-seed mean is above 91.0 %. Mixup at alpha 1 (mixing ratios
        # spread evenly, as in between-class learning, Tokozume et al. 2018, made for ESC) and dropout 0.3.
        # Mixup alpha 1: 89.8 % at seed 0, stopped. Dropout 0.3: 91.7, 88.8, 94.0, mean 91.5 %: adopted
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, mixup alpha 1",
                    ("envsound", merge(ENV_TWO, {"augment": {"filter_db": 6.0, "filter_points": 4},
                                                 "mixup": {"alpha": 1.0}}))),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3",
                    ("envsound", ENV_DROPOUT)),
        # 2026-12-06 (fourth session): the preset (dropout 0.3) with stronger augmentation of the two kinds the test
        # folds showed to matter most (masks off cost 2.6 points): masks up to twice as wide (16 bands, 32 frames),
        # and a random tempo (time stretch 0.1: a clock, a dog or a rooster a little faster or slower). The rule, fixed
        # before the runs: seeds 1 and 2 only if seed 0 beats the preset's seed 0 (91.7 %); adopt if the three-seed
        # mean is above the preset's 91.5 %. Masks twice as wide: 91.0 % at seed 0, time stretch 0.1 88.4 %: stopped
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "masks twice as wide", ("envsound", merge(ENV_DROPOUT, {"augment": {"freq_max_width": 16,
                                                                                         "time_max_width": 32}}))),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "time stretch 0.1", ("envsound", merge(ENV_DROPOUT, {"augment": {"time_stretch": 0.1}}))),
        # 2026-12-06 (fourth session), under --validation-part fold (the whole fold after the test fold validates: on
        # ESC-10 the random 1/8 of source recordings scored above the test fold in 16 of 18 tuning runs, by 2.2 points
        # on average, so they rank recipes on something easier than the test folds ask). The two variants the groups
        # instrument could not tell from the preset (2026-12-04), on today's preset; their one-network seed-0 test
        # figures are in the README, their two-member, dropout, equaliser recipes were never scored on a test fold.
        # The rule, fixed before the runs: seed 0 of both; seeds 1 and 2 for the higher one only if it beats the
        # preset's seed 0 under the same instrument; adopt it if its three-seed mean is above the preset's.
        # Seed 0: preset 88.3, mean + max 88.2, full band 88.9; seeds 1, 2: full band 88.4, 90.1, preset 87.6, 90.5;
        # over three seeds 89.1 against 88.8 %: the full band is adopted (the preset since 2026-12-07)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "mean + max pooling", ("envsound", merge(ENV_DROPOUT, {"model": {"pooling": "meanmax"}}))),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz (64 bands to 22 kHz)", ("envsound", merge(ENV_DROPOUT, ENV_FULL_BAND))),
        # 2026-12-07: the preset (the full band) with 128 bands in 128 x 128 patches instead of 64 (finer bands where
        # the textures differ; frequency masks up to 16 bands, the same share of the spectrum as 8 of 64; 2x the
        # compute, about 27 min for the 5-fold CV, inside 30). The rule, fixed before the runs (--validation-part fold):
        # seeds 1 and 2 only if seed 0 beats the preset's seed 0 (88.9 %); adopt if the three-seed mean is above 89.1 %.
        # Seeds 0, 1, 2: 89.2, 88.6, 90.6, mean 89.5 %: adopted (the preset since 2026-12-07). Its test-fold seeds,
        # committed before they ran as accuracy.py "envsound with 128 bands": 89.7 +- 0.6 % against 89.9 +- 0.7 at 64
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands", ("envsound", merge(ENV_DROPOUT, full_band(128, freq_max_width=16)))),
        # 2026-12-07 (ninth session): the preset (its patches weighted by sound since that evening) trained without
        # its patches of digital silence (`train.silent_patches: drop`): a fifth of ESC-10's clips are over a quarter
        # silence, and a 3-s window of nothing is trained with the clip's label. The preset's figure comes from
        # benchmarks/warps.py --patch-weights sound (each split's last checkpoint on its whole-fold validation part),
        # so the variant is scored by the same instrument. The rule, fixed before the runs (--validation-part fold):
        # seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.25 %); adopt if the three-seed mean is above the
        # preset's 90.83 % (90.25, 90.25, 92.00). Result: 91.50 % (90.75, 91.75, 92.00): adopted (the preset since)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on",
                    ("envsound", ENV_SILENT_DROPPED)),
        # 2026-12-07 (tenth session): the preset with a random contrast in training (`augment.contrast: 0.3`: each
        # patch's normalised log-mel scaled by a factor in [0.7, 1.3] about the training mean). Fold 1, the fold that
        # keeps the preset's spread over 4, loses most of its clips to helicopter heard as crackling fire or rain
        # (11 of 22 errors over seeds 0-1 of the test rows, read after those rows ran; nothing chosen on them): a source
        # further away reaches the microphone with its modulation flattened, i.e. less contrast. Scored as the
        # preset was (benchmarks/warps.py --patch-weights sound, --validation-part fold). The rule, fixed before the
        # runs: seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above
        # the preset's 91.50 % (90.75, 91.75, 92.00). Result: seed 0 88.25 % (warps.py, sound weights; four splits down,
        # one level): not adopted, seeds 1 and 2 not run (`augment.contrast` stays off in envsound)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, contrast ±0.3",
                    ("envsound", merge(ENV_SILENT_DROPPED, {"augment": {"contrast": 0.3}}))),
        # 2026-12-07 (tenth session, for the next): the preset with 64 bands instead of 128 (64 x 128 patches, masks to
        # 8 bands, half the compute). 128 bands were chosen on these validation parts before the patch weights and the
        # silent patches changed the recipe. THIS LEAD CAME FROM A TEST-FOLD READING: the demo's 64-band rows of
        # accuracy.py scored 91.8 +- 0.4 % against the preset's 91.3 +- 0.4 on the test folds (rows that report, chose
        # nothing). Only this instrument may make the switch, and a switch would leave the test figure of 64 bands
        # read before the choice (say so wherever it is quoted). Scored as the preset was (warps.py --patch-weights
        # sound, --validation-part fold). The rule, fixed before the runs: adopt if the three-seed mean is above the
        # preset's 91.50 % (90.75, 91.75, 92.00). Result (seed 0 tenth session, seeds 1-2 eleventh): 90.92 % (89.75,
        # 91.00, 92.00; log loss 0.356 against 0.336; tuning.py's own figure 89.8, 90.3, 91.9): not adopted, 128 bands
        # stay
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 64 bands, patches weighted by sound, silent patches not trained on",
                    ("envsound", merge(ENV_SILENT_DROPPED, full_band(64)))),
        # 2026-12-07 (eleventh session): the 64-band variant above on a frame grid twice as fine (hop 512 at 44.1 kHz,
        # 86 frames a second instead of 43), so a patch of 128 frames spans 1.5 s instead of 3 and patches start every
        # 64 frames (0.74 s, as 32 did at hop 1024): 6 patches of a 5-s clip at half the area of 128 x 128, so the
        # network's work per clip stays under the preset's. Why: the preset's hardest fold (fold 1) loses half its
        # errors to helicopter heard as crackling fire or rain (read from the test rows after they ran; nothing chosen
        # on them). Those textures differ in their amplitude modulation (a rotor beats at ~10-25 Hz), and 43 frames a
        # second alias everything over 21.5 Hz. The time shift and time masks stay in frames (half as long in seconds).
        # Scored as the preset was (warps.py --patch-weights sound, --validation-part fold). The rule, fixed before the
        # runs: seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above
        # the preset's three-seed mean on this instrument when seed 2 ends (91.50 %, unless the 64-band variant above
        # is adopted first: then its own three-seed mean). Result: seed 0 90.25 % (95.0, 90.0, 95.0, 87.5, 83.8; log
        # loss 0.406; tuning.py's own figure 90.1 +- 4.0, 16.1 min) against 90.75 %: not adopted, seeds 1 and 2 not
        # run (the 64-band variant was not adopted either)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 64 bands, hop 512 (1.5-s patches), patches weighted by sound, silent patches not "
                    "trained on",
                    ("envsound", merge(ENV_SILENT_DROPPED, FINE_HOP))),
        # 2026-12-07 (eleventh session): the preset with each training patch's loss weighted by its share of sounding
        # frames (train.silent_patches: weight), the weight it is scored with. 331 of ESC-10's 1,604 patches hold some
        # digital silence, 139 of them over half; dropping the wholly silent ones (36) gained 0.7 points here. Scored
        # as the preset was (warps.py --patch-weights sound, --validation-part fold). The rule, fixed before the runs:
        # seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above the
        # preset's 91.50 % (90.75, 91.75, 92.00). Result: seed 0 90.75 % (96.2, 88.8, 96.2, 85.0, 87.5; log loss
        # 0.373; tuning.py's own figure 90.7, 17.9 min), level with the preset's seed 0, not above: not adopted, seeds
        # 1 and 2 not run (`train.silent_patches: weight` stays an option)
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, training losses "
                    "weighted by sound",
                    ("envsound", merge(ENV_SILENT_DROPPED, {"train": {"silent_patches": "weight"}}))),
        # 2026-12-07 (twelfth session): the preset with its weight decay decoupled from the gradient (AdamW, decay 0.05:
        # every step shrinks each weight by lr x 0.05) instead of Adam's coupled L2 of 5e-4, which Adam's per-weight
        # step sizes scale away where gradients are large. A regulariser on every weight alike for 320 training clips
        # (fold 1's helicopter heard as fire or rain is a source recording's particulars learned as its class's).
        # Scored as the preset was (warps.py --patch-weights sound, --validation-part fold). The rule, fixed before the
        # runs: seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above
        # the preset's 91.50 % (90.75, 91.75, 92.00). Result: seed 0 90.75 % (96.2, 88.8, 95.0, 87.5, 86.2; log loss
        # 0.385 against 0.336; tuning.py's own figure 90.7), level with the preset's seed 0, not above: not adopted,
        # seeds 1 and 2 not run
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, AdamW 0.05",
                    ("envsound", merge(ENV_SILENT_DROPPED, {"train": {"optimizer": "adamw", "weight_decay": 0.05}}))),
        # 2026-12-07 (twelfth session): the preset with PCEN stacked after its log-mel as a second channel (each of the
        # 128 mel bands divided by its own level over 0.4 s, then compressed: features/kinds/pcen.py). Fold 1's
        # helicopter heard as crackling fire or rain: three broadband textures whose steady level PCEN divides out,
        # leaving how each band moves within a few tenths of a second (a rotor's beat, a crackle, a patter), whatever
        # the distance or the recorder. The log-mel stays first: the patch weights and the silent patches find silence
        # in its dB rows, and the gain and equaliser draws move it alone (PCEN divides them out). Scored as the preset
        # was (warps.py --patch-weights sound, --validation-part fold). The rule, fixed before the runs: seeds 1 and 2
        # only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above the preset's
        # 91.50 % (90.75, 91.75, 92.00), or above the AdamW variant's if that is adopted first. Result: seed 0 90.25 %
        # (90.0, 91.2, 95.0, 90.0, 85.0; log loss 0.351; tuning.py's own figure 90.2 +- 3.3; 39.8 min on a machine
        # running about 1.4x slower than in earlier sessions): below the preset's seed 0, not adopted, seeds 1 and 2
        # not run. Its spread over splits was narrower (3.6 against 5.2 for the preset's seed 0), its mean lower
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, PCEN channel",
                    ("envsound", merge(ENV_SILENT_DROPPED, with_pcen(ENV_SILENT_DROPPED["input"]["features"])))),
        # 2026-12-08 (thirteenth session): the preset keeping a moving average of its weights (train.ema_epochs 4: a
        # time constant of a tenth of its 40 epochs) instead of the weights of its last step. A run keeps the last
        # epoch's model, one noisy draw from where the weights wander on 320 training clips: the same recipe's seeds
        # differ by 2.5 points on a fold (fold 1: 85.0-87.5), and an average of the weights over the last epochs is a
        # flatter, steadier point (Polyak averaging; SWA, Izmailov et al. 2018). Scored as the preset was (warps.py
        # --patch-weights sound, --validation-part fold). The rule, fixed before the runs: seeds 1 and 2 only if seed 0
        # beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is above the preset's 91.50 % (90.75,
        # 91.75, 92.00). Result: seed 0 90.50 % (log loss 0.383; spread over splits 4.8; tuning.py's own figure 90.4
        # +- 4.4; 34.1 min): below the preset's seed 0, not adopted, seeds 1 and 2 not run
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, weights averaged "
                    "over 4 epochs", ("envsound", merge(ENV_SILENT_DROPPED, {"train": {"ema_epochs": 4.0}}))),
        # 2026-12-08 (thirteenth session): the preset with a random noise floor in training (augment.noise_snr_db
        # [10, 30]: stationary noise of each patch's own long-term spectrum at an SNR drawn in 10-30 dB). ESC-10's
        # clips are field recordings of one source each, at whatever distance and background the recordist met; fold
        # 1 loses half its errors to helicopter heard as crackling fire or rain (read from the test rows after they
        # ran; nothing chosen on them), sources that differ in how far their quiet moments fall below their loud ones.
        # Scored as the preset was (warps.py --patch-weights sound, --validation-part fold). The rule, fixed before
        # the runs: seeds 1 and 2 only if seed 0 beats the preset's seed 0 (90.75 %); adopt if the three-seed mean is
        # above the preset's 91.50 % and above the moving-average variant's (above) if that is adopted first
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                    "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on, noise floor at "
                    "10-30 dB SNR", ("envsound", merge(ENV_SILENT_DROPPED,
                                                       {"augment": {"noise_snr_db": [10.0, 30.0]}}))),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 4 members averaged",
                    ("envsound", merge(ENV_BF16, {"model": {"members": 4}}))),
        **seed_rows("envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, 60 epochs",
                    ("envsound", merge(ENV_TWO, {"train": {"max_epochs": 60, "patience": 60}}))),
    },
}


def table_of(data: str) -> tuple[ClipTable, int | None]:
    """The clips of ``data`` and its number of folds (None: the dataset's own, ESC-10's five official folds)."""
    if data == "fsdd":
        return read_csv(DATA / "fsdd" / "labels.csv", group_column="speaker"), 5
    return read_csv(DATA / "esc10" / "labels.csv"), None


def run_variant(name: str, preset: str, changes: dict[str, Any], table: ClipTable, args: argparse.Namespace,
                k: int | None) -> dict[str, Any]:
    epochs = {"train": {"max_epochs": args.epochs, "patience": args.epochs}} if args.epochs else {}
    config = load_experiment(preset, merge(merge(changes, epochs), {"train": {
        "selection": "validation", "validation_part": args.validation_part}}))
    run_dir = args.out / slug(name)
    start = time.perf_counter()
    splits = cross_validate(config, table, RunDir(run_dir), k=k, cache_root=args.out / "cache", progress=False)
    curves = [[value for _, value in RunDir(run_dir).split(split.split).read_history()["val_acc"]] for split in splits]
    last = [float(np.mean(curve[-LAST_EPOCHS:])) for curve in curves]
    # results written before the precision was recorded are all CPU float32 ones
    precision = sorted({split.precision or "32-true" for split in splits})
    return {"preset": preset, "changes": changes, "run": run_dir.name, "epochs": config.train.max_epochs,
            "precision": ", ".join(precision),
            "validation_last": last, "validation_best": [max(curve) for curve in curves],
            "mean": float(np.mean(last)), "std": float(np.std(last)), "seconds": time.perf_counter() - start}


def with_earlier(out: Path, data: str, validation_part: str, results: dict[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    """This run's ``results`` after the variants an earlier run of the same data and validation part wrote into
    ``out``, so that the table keeps every variant trained there (a variant run again takes its new figures)."""
    path = out / "tuning.json"
    if not path.is_file():
        return results
    try:
        earlier = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(f"{path}: not read ({error}); the table holds this run's variants only", file=sys.stderr)
        return results
    if earlier.get("data") != data or earlier.get("validation_part", "groups") != validation_part:
        return results
    kept = {name: r for name, r in earlier.get("variants", {}).items() if name not in results}
    return {**kept, **results}


def write_outputs(out: Path, data: str, results: dict[str, dict[str, Any]], validation_part: str = "groups") -> str:
    n_splits = min(len(r["validation_last"]) for r in results.values())
    winners = [max(results, key=lambda name: results[name]["validation_last"][split]) for split in range(n_splits)]
    part = ("the whole fold after each split's test fold" if validation_part == "fold"
            else "1/8 of each training side's groups")
    lines = [f"# Tuning on validation parts only ({data})", "",
             f"Validation accuracy (%, mean of each split's last {LAST_EPOCHS} epochs, then mean ± std over splits); "
             f"validation part: {part}; no test fold was read.", "",
             "| variant | validation accuracy (%) | per split (%) | best epoch, mean (%) | epochs | precision "
             "| wall (the run that wrote the row; a resumed fold counts 0) |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        per_split = ", ".join(f"{100 * v:.1f}" for v in r["validation_last"])
        lines.append(f"| {name} | {100 * r['mean']:.1f} ± {100 * r['std']:.1f} | {per_split} | "
                     f"{100 * np.mean(r['validation_best']):.1f} | {r['epochs']} | {r.get('precision', '32-true')} "
                     f"| {r['seconds'] / 60:.1f} min |")
    lines += ["", "Each split's own validation part prefers: "
              + "; ".join(f"split {i + 1}: {name}" for i, name in enumerate(winners)),
              "", f"machine: {platform.platform()}, torch {torch.__version__}", "", "![tuning.png](tuning.png)"]
    text = "\n".join(lines) + "\n"
    with replacing(out / "tuning.md") as tmp:
        tmp.write_text(text)
    with replacing(out / "tuning.json") as tmp:
        tmp.write_text(json.dumps({"data": data, "last_epochs": LAST_EPOCHS, "validation_part": validation_part,
                                   "variants": results,
                                   "split_winners": winners, "machine": platform.platform()}, indent=2))
    accuracy_bars(out / "tuning.png", {name: {"accuracy": {"mean": r["mean"], "std": r["std"]}}
                                       for name, r in results.items()},
                  what=f"validation accuracy (last {LAST_EPOCHS} epochs)", rows="variant")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=tuple(VARIANTS), default="fsdd")
    parser.add_argument("--variants", default="", help="semicolon-separated variants to run (default: all)")
    parser.add_argument("--epochs", type=int, help="epochs per split (default: each preset's own)")
    parser.add_argument("--validation-part", choices=("groups", "fold"), default="groups",
                        help="groups: 1/8 of each training side's groups (source recordings, speakers) drawn at "
                             "random; fold: the whole fold after the test fold (train.validation_part)")
    parser.add_argument("--out", type=Path,
                        help="default: benchmarks/results/tuning-DATA (tuning-DATA-fold with --validation-part fold)")
    parser.add_argument("--clips-per-class", type=int, metavar="N",
                        help="only the first N clips of each class in each fold (each speaker on fsdd): a smoke run")
    args = parser.parse_args()
    suffix = "-fold" if args.validation_part == "fold" else ""
    args.out = args.out or Path(f"benchmarks/results/tuning-{args.data}{suffix}")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    table, k = table_of(args.data)
    table = first_clips(table, args.clips_per_class)
    variants = VARIANTS[args.data]
    chosen = [v.strip() for v in args.variants.split(";") if v.strip()] or list(variants)
    unknown = [name for name in chosen if name not in variants]
    if unknown:
        parser.error(f"unknown variants {unknown}; {args.data} has: {'; '.join(variants)}")
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        preset, changes = variants[name]
        results[name] = run_variant(name, preset, changes, table, args, k)
        print(f"{name}: validation {100 * results[name]['mean']:.1f} % ({results[name]['seconds']:.0f} s)", flush=True)
    print(write_outputs(args.out, args.data, with_earlier(args.out, args.data, args.validation_part, results),
                        args.validation_part))
    print(f"wrote {args.out / 'tuning.md'}")


if __name__ == "__main__":
    main()
