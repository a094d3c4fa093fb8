from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from stasc.data import DatasetError, assign_folds, fold_indices, official_split, read_folds, read_tau, write_folds


@pytest.fixture(scope="module")
def tau(tau_meta_dir: Path):
    return read_tau(tau_meta_dir)


@pytest.fixture(scope="module")
def tau_folds(tau):
    return assign_folds(tau, k=5, seed=0)


def test_no_location_in_two_folds(tau, tau_folds) -> None:
    folds_of_group: dict[str, set[int]] = {}
    for group, fold in zip(tau.groups, tau_folds):
        folds_of_group.setdefault(group, set()).add(int(fold))
    assert all(len(f) == 1 for f in folds_of_group.values())


def test_every_fold_holds_every_class(tau, tau_folds) -> None:
    for fold in range(5):
        labels = Counter(tau.labels[i] for i in np.flatnonzero(tau_folds == fold))
        assert set(labels) == set(tau.classes)
        # stratification: each class close to its 1/5 share (288 of 1440) despite location grouping
        assert all(abs(n - 288) <= 0.15 * 288 for n in labels.values()), labels


def test_fold_sizes_within_a_few_percent(tau, tau_folds) -> None:
    sizes = np.bincount(tau_folds, minlength=5)
    assert sizes.sum() == len(tau)
    assert np.all(np.abs(sizes - len(tau) / 5) <= 0.03 * len(tau) / 5), sizes


def test_folds_are_a_pure_function_of_metadata_k_seed(tau, tau_folds) -> None:
    np.testing.assert_array_equal(assign_folds(tau, k=5, seed=0), tau_folds)
    assert not np.array_equal(assign_folds(tau, k=5, seed=1), tau_folds)


def test_fold_indices_partition(tau_folds) -> None:
    train, val = fold_indices(tau_folds, 2)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(tau_folds)
    with pytest.raises(ValueError, match="fold 7 does not exist"):
        fold_indices(tau_folds, 7)


def test_official_split_real_metadata(tau, tau_meta_dir: Path) -> None:
    train, evaluate = official_split(tau_meta_dir, tau)
    assert (len(train), len(evaluate)) == (9185, 4185)
    train_groups = {tau.groups[i] for i in train}
    assert not train_groups & {tau.groups[i] for i in evaluate}


def test_folds_round_trip_through_csv(tmp_path: Path, tau, tau_folds) -> None:
    write_folds(tmp_path / "folds.csv", tau, tau_folds)
    np.testing.assert_array_equal(read_folds(tmp_path / "folds.csv", tau), tau_folds)


def test_too_few_groups_is_a_clear_error(tau) -> None:
    small = tau.subset([0, 1, 2])
    with pytest.raises(DatasetError, match="3 groups cannot fill 5 folds"):
        assign_folds(small, k=5, seed=0)
    with pytest.raises(ValueError, match="k must be at least 2"):
        assign_folds(tau, k=1, seed=0)


def test_one_clip_per_class_still_gives_grouped_folds(tut_dir: Path) -> None:
    from stasc.data import open_dataset

    table = open_dataset(tut_dir)
    with pytest.warns(UserWarning, match="grouped but not stratified"):
        folds = assign_folds(table, k=2, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [5, 5]
    np.testing.assert_array_equal(folds, assign_folds(table, k=2, seed=0))
