"""Training and evaluation data: patches cut on the fly from the memory-mapped feature cache.

Only an index of (clip, view, start frame) lives in RAM; each item reads one patch window from
the cache's memory maps, so memory stays flat however large the dataset is. With two features
(CQT + MFCC-1024) the patches at the same position are stacked as two channels (SPEC §2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from stasc.features.cache import FeatureCache
from stasc.features.patches import Normalizer, clip_normalize, patch_starts, resize_patches


@dataclass(frozen=True)
class PatchPlan:
    """How spectrograms become network inputs (SPEC §2)."""

    width: int = 128
    shift: int = 32
    size: tuple[int, int] = (128, 128)


def fit_normalizers(
    caches: Sequence[FeatureCache], files: Sequence[str], *, max_clips: int | None = None, seed: int = 0,
    clip_norm: str = "none",
) -> list[Normalizer]:
    """One per-coefficient normaliser per feature, fitted on ``files`` (the training split only).

    Views are pooled (a coefficient has one mean over left, right and mid). ``max_clips`` fits on a
    seeded random subset: a few thousand clips pin the statistics and save reading every clip.
    """
    chosen = list(files)
    if max_clips is not None and len(chosen) > max_clips:
        rng = np.random.default_rng(seed)
        chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), size=max_clips, replace=False))]
    return [Normalizer.fit(_pooled_views(cache, chosen, clip_norm)) for cache in caches]


def _pooled_views(cache: FeatureCache, names: Sequence[str], clip_norm: str) -> Iterator[np.ndarray]:
    """Each clip as ``(1, rows, views·frames)``: one statistic per coefficient over all views."""
    for name in names:
        clip = clip_normalize(np.asarray(cache.load(name), dtype=np.float32), clip_norm)  # V, R, T
        yield np.transpose(clip, (1, 0, 2)).reshape(1, clip.shape[1], -1)


class PatchDataset(Dataset):
    """Every patch of every view of ``files``: item ``i`` → ``(x (C, H, W), target, clip)``.

    ``clip`` is the position of the patch's clip in ``files``, used to average patch
    probabilities into clip predictions.
    """

    def __init__(
        self,
        caches: Sequence[FeatureCache],
        files: Sequence[str],
        targets: Sequence[int],
        normalizers: Sequence[Normalizer],
        plan: PatchPlan,
        clip_norm: str = "none",
    ) -> None:
        if len(caches) != len(normalizers):
            raise ValueError(f"{len(caches)} features but {len(normalizers)} normalisers")
        if len(files) != len(targets):
            raise ValueError(f"{len(files)} files but {len(targets)} targets")
        missing = [name for name in files if any(name not in cache for cache in caches)]
        if missing:
            raise ValueError(
                f"{len(missing)} clips are not in the feature cache {caches[0].path.parent} "
                f"(e.g. {missing[:3]}); run `stasc extract` for them first"
            )
        self.caches = list(caches)
        self.files = list(files)
        self.targets = np.asarray(targets, dtype=np.int64)
        self.normalizers = list(normalizers)
        self.plan = plan
        self.clip_norm = clip_norm
        self._view_means: dict[tuple[int, int, int], np.ndarray] = {}  # (feature, clip, view) → (R, 1)
        self.index = self._build_index()

    def _build_index(self) -> np.ndarray:
        """``(patches, 3)`` int64 rows of (clip, view, start)."""
        rows = []
        for clip, name in enumerate(self.files):
            shapes = [cache.entries()[name].shape for cache in self.caches]
            views, _, frames = shapes[0]
            if any(s[0] != views or s[2] != frames for s in shapes[1:]):
                raise ValueError(f"{name}: stacked features differ in views or frames: {shapes}")
            for view in range(views):
                for start in patch_starts(frames, width=self.plan.width, shift=self.plan.shift):
                    rows.append((clip, view, start))
        return np.asarray(rows, dtype=np.int64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def n_clips(self) -> int:
        return len(self.files)

    def _view_mean(self, feature: int, clip: int, view: int, spectrogram: np.ndarray) -> np.ndarray:
        # read once per view, not once per patch (a TAU view has 11 patches); ~22 MB for all of TAU
        key = (feature, clip, view)
        if key not in self._view_means:
            self._view_means[key] = np.asarray(spectrogram, dtype=np.float32).mean(-1, keepdims=True)
        return self._view_means[key]

    def __getitem__(self, item: int) -> tuple[Tensor, int, int]:
        clip, view, start = (int(v) for v in self.index[item])
        name = self.files[clip]
        channels = []
        for feature, (cache, normalizer) in enumerate(zip(self.caches, self.normalizers)):
            spectrogram = cache.load(name)[view]  # R, T, memory-mapped
            window = np.array(spectrogram[:, start : start + self.plan.width], dtype=np.float32)
            if self.clip_norm == "mean":  # the whole view's mean, as at prediction time
                window -= self._view_mean(feature, clip, view, spectrogram)
            patch = normalizer.apply(torch.from_numpy(window)[None])[0]  # R, W
            if patch.shape[-1] < self.plan.width:  # a clip shorter than one patch: pad with the mean (0)
                patch = torch.nn.functional.pad(patch, (0, self.plan.width - patch.shape[-1]))
            channels.append(resize_patches(patch, self.plan.size))
        return torch.stack(channels), int(self.targets[clip]), clip


def clip_probabilities(patch_probs: Tensor, clips: Tensor, n_clips: int) -> Tensor:
    """Mean of patch probabilities per clip (SPEC §4): ``(P, K)`` with clip ids ``(P,)`` → ``(n_clips, K)``."""
    sums = torch.zeros(n_clips, patch_probs.shape[1], dtype=patch_probs.dtype, device=patch_probs.device)
    sums.index_add_(0, clips, patch_probs)
    counts = torch.bincount(clips, minlength=n_clips).clamp_min(1).to(patch_probs.dtype)
    return sums / counts[:, None]
