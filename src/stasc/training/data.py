"""Training and evaluation data: patches cut on the fly from the memory-mapped feature cache.

Only an index of (clip, view, start frame) lives in RAM; each item reads one patch window from
the cache's memory maps and hands it to the front end (:meth:`FrontEnd.cached_patch`), so memory
stays flat however large the dataset is. With two features (CQT + MFCC-1024) the patches at the
same position are stacked as two channels (SPEC §2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from stasc.features.cache import FeatureCache
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer, clip_normalize, clip_statistics, patch_starts


def fit_normalizers(
    caches: Sequence[FeatureCache], files: Sequence[str], *, max_clips: int | None = None, seed: int = 0,
    clip_norm: str = "none",
) -> list[Normalizer]:
    """One per-row normaliser per feature, fitted on ``files`` (the training clips only).

    Views are pooled (a coefficient has one mean over left, right and mid). ``max_clips`` fits on a
    seeded random subset: a few thousand clips pin the statistics and save reading every clip.
    """
    chosen = list(files)
    if max_clips is not None and len(chosen) > max_clips:
        rng = np.random.default_rng(seed)
        chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), size=max_clips, replace=False))]
    return [Normalizer.fit(_views(cache, chosen, clip_norm)) for cache in caches]


def _views(cache: FeatureCache, names: Sequence[str], clip_norm: str) -> Iterator[np.ndarray]:
    """Every view ``(rows, frames)`` of every named clip, clip-normalised as the network will see it."""
    for name in names:
        yield from clip_normalize(np.asarray(cache.load(name), dtype=np.float32), clip_norm)


class PatchDataset(Dataset[tuple[Tensor, int, int, float]]):
    """Every patch of every view of ``files``: item ``i`` → ``(x (C, H, W), target, clip, weight)``.

    ``clip`` is the position of the patch's clip in ``files``, used to average patch
    probabilities into clip predictions, ``weight`` the patch's part in that average: 1, or under
    ``patch_weights="sound"`` its share of frames above the first feature's dB floor (``model.patch_weights``).
    ``drop_silent`` leaves out the patches with no such frame (``train.silent_patches: drop``, ``weight``), except for
    a clip with no other. Training patches' weights weigh their loss (``train.silent_patches: weight``).
    """

    def __init__(
        self, caches: Sequence[FeatureCache], files: Sequence[str], targets: Sequence[int], front_end: FrontEnd,
        patch_weights: str = "equal",
        drop_silent: bool = False,
    ) -> None:
        if len(caches) != front_end.n_features:
            raise ValueError(f"{len(caches)} feature caches for a front end of {front_end.n_features} features")
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
        self.front_end = front_end
        self.width = front_end.config.patch_width
        self.clip_norm = front_end.config.clip_norm
        # (clip, view) → per feature (shift (R, 1), scale (1, 1))
        self._view_statistics: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        self.index, self.short_clips = self._build_index()
        self.weights = self._patch_weights(patch_weights)
        self.silent_dropped = self._drop_silent(patch_weights) if drop_silent else 0

    def _build_index(self) -> tuple[np.ndarray, int]:
        """``(patches, 3)`` int64 rows of (clip, view, start), and how many clips are shorter than a patch."""
        rows, short = [], 0
        for clip, name in enumerate(self.files):
            shapes = [cache.entries()[name].shape for cache in self.caches]
            views, _, frames = shapes[0]
            if any(s[0] != views or s[2] != frames for s in shapes[1:]):
                raise ValueError(f"{name}: stacked features differ in views or frames: {shapes}")
            short += frames < self.width
            for view in range(views):
                for start in patch_starts(frames, width=self.width, shift=self.front_end.config.patch_shift):
                    rows.append((clip, view, start))
        return np.asarray(rows, dtype=np.int64).reshape(-1, 3), short

    def _patch_weights(self, mode: str) -> np.ndarray:
        """``(patches,)`` float32 in the index's order (clip, then view, then start)."""
        if mode == "equal":
            return np.ones(len(self.index), dtype=np.float32)
        per_clip = []
        for name in self.files:
            first = torch.from_numpy(np.array(self.caches[0].load(name), dtype=np.float32))  # V, R, T (a copy)
            weights = self.front_end.patch_weights([first[None]], mode)
            assert weights is not None  # "equal" returned above
            per_clip.append(weights[0].numpy())
        return np.concatenate(per_clip).astype(np.float32) if per_clip else np.zeros(0, dtype=np.float32)

    def _drop_silent(self, mode: str) -> int:
        """Remove from the index the patches with no frame above the floor (``train.silent_patches: drop``), but
        none of a clip whose every patch is silent; how many went."""
        shares = self.weights if mode == "sound" else self._patch_weights("sound")
        sounding = shares > 0
        clips = self.index[:, 0]
        clip_sounds = np.bincount(clips, weights=sounding, minlength=self.n_clips) > 0
        keep = sounding | ~clip_sounds[clips]
        self.index, self.weights = self.index[keep], self.weights[keep]
        return int((~keep).sum())

    def __len__(self) -> int:
        return len(self.index)

    @property
    def n_clips(self) -> int:
        return len(self.files)

    def _statistics(self, clip: int, view: int) -> list[tuple[np.ndarray, np.ndarray]]:
        # the clip normalisation of the whole view, read once per view, not once per patch (a TAU view has 11
        # patches); ~22 MB for all of TAU
        key = (clip, view)
        if key not in self._view_statistics:
            name = self.files[clip]
            self._view_statistics[key] = [
                clip_statistics(np.asarray(cache.load(name)[view], dtype=np.float32), self.clip_norm)
                for cache in self.caches]
        return self._view_statistics[key]

    def __getitem__(self, item: int) -> tuple[Tensor, int, int, float]:
        clip, view, start = (int(v) for v in self.index[item])
        name = self.files[clip]
        windows = [cache.load(name)[view][:, start : start + self.width] for cache in self.caches]  # memory-mapped
        patch = self.front_end.cached_patch(windows, self._statistics(clip, view) if self.clip_norm != "none" else None)
        return patch, int(self.targets[clip]), clip, float(self.weights[item])


def clip_probabilities(patch_probs: Tensor, clips: Tensor, n_clips: int, weights: Tensor | None = None) -> Tensor:
    """Mean of patch probabilities per clip (SPEC §4): ``(P, K)`` with clip ids ``(P,)`` → ``(n_clips, K)``; with
    ``weights (P,)`` (``model.patch_weights``) the weighted mean, and the plain one for a clip whose weights are
    all 0."""
    sums = torch.zeros(n_clips, patch_probs.shape[1], dtype=patch_probs.dtype, device=patch_probs.device)
    sums.index_add_(0, clips, patch_probs)
    counts = torch.bincount(clips, minlength=n_clips).clamp_min(1).to(patch_probs.dtype)
    means = sums / counts[:, None]
    if weights is None:
        return means
    weights = weights.to(patch_probs.dtype)
    weighted = torch.zeros_like(sums).index_add_(0, clips, patch_probs * weights[:, None])
    totals = torch.zeros(n_clips, dtype=patch_probs.dtype, device=patch_probs.device).index_add_(0, clips, weights)
    return torch.where(totals[:, None] > 0, weighted / totals.clamp_min(1e-12)[:, None], means)
