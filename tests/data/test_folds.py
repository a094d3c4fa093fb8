from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from stasc.data import (
    DatasetError,
    assign_folds,
    cv_folds,
    fold_indices,
    official_split,
    read_csv,
    read_folds,
    read_tau,
    validation_fold,
    validation_split,
    write_folds,
)


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


def test_cross_validation_uses_the_datasets_own_folds_unless_told_otherwise(shared_data: Path) -> None:
    esc = read_csv(shared_data / "esc10" / "labels.csv")
    folds = cv_folds(esc, k=None, seed=0)
    assert folds.kind == "dataset" and folds.ids == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(folds.of_clip, esc.folds)
    grouped = cv_folds(esc, k=4, seed=0, kind="grouped")
    assert grouped.kind == "grouped" and grouped.ids == [0, 1, 2, 3]
    with pytest.raises(DatasetError, match="5 official folds, not --k 3"):
        cv_folds(esc, k=3, seed=0)


def test_a_dataset_without_folds_gets_grouped_ones_and_cannot_ask_for_its_own(tau) -> None:
    assert cv_folds(tau, k=None, seed=0).kind == "grouped"
    with pytest.raises(DatasetError, match="--folds dataset, but the metadata has no fold column"):
        cv_folds(tau, k=None, seed=0, kind="dataset")


def test_the_validation_part_is_grouped_stratified_and_never_the_test_fold(tau, tau_folds) -> None:
    train, test = fold_indices(tau_folds, 0)
    fit, held = validation_split(tau, train, fraction=0.125, seed=0)
    assert len(np.intersect1d(fit, held)) == 0 and len(fit) + len(held) == len(train)
    assert not set(held) & set(test)  # the test fold gives nothing up
    assert not {tau.groups[i] for i in fit} & {tau.groups[i] for i in held}  # no location on both sides
    assert abs(len(held) / len(train) - 0.125) < 0.02
    per_class = Counter(tau.labels[i] for i in held)
    assert set(per_class) == set(tau.classes)  # stratified: every class held out in about its share
    assert all(abs(n - len(held) / 10) <= 0.25 * len(held) / 10 for n in per_class.values()), per_class
    again = validation_split(tau, train, fraction=0.125, seed=0)
    np.testing.assert_array_equal(again[1], held)
    assert not np.array_equal(validation_split(tau, train, fraction=0.125, seed=1)[1], held)


def test_with_few_groups_the_validation_part_is_one_whole_group(fsdd_dir: Path) -> None:
    fsdd = read_csv(fsdd_dir / "labels.csv")  # five speakers
    train, _ = fold_indices(assign_folds(fsdd, k=5, seed=0), 0)
    fit, held = validation_split(fsdd, train, fraction=0.125, seed=0)
    assert len({fsdd.groups[i] for i in held}) == 1 and len({fsdd.groups[i] for i in fit}) == 3
    fit_all, none = validation_split(fsdd, train, fraction=0.0, seed=0)
    assert len(none) == 0 and len(fit_all) == len(train)
    one_speaker = fsdd.subset([i for i in range(len(fsdd)) if fsdd.groups[i] == "theo"])
    with pytest.raises(DatasetError, match="has 1 group, nothing to hold out"):
        validation_split(one_speaker, np.arange(len(one_speaker)), fraction=0.125, seed=0)


def test_a_whole_fold_validates_the_fold_after_the_test_fold_and_each_fold_once(shared_data: Path) -> None:
    esc = read_csv(shared_data / "esc10" / "labels.csv")
    folds = np.asarray(esc.folds)
    held_out = []
    for test_fold in range(1, 6):
        train, test = fold_indices(folds, test_fold)
        fit, held = validation_fold(folds, train, test_fold=test_fold, seed=0)
        assert set(folds[held]) == {test_fold % 5 + 1}  # the next official fold, 5 wrapping to 1
        assert len(held) == 80 and len(fit) == 240 and not set(held) & set(test)  # all of it; never the test fold
        assert set(folds[fit]) == set(range(1, 6)) - {test_fold, test_fold % 5 + 1}
        held_out.append(int(folds[held][0]))
    assert sorted(held_out) == [1, 2, 3, 4, 5]  # over a cross-validation every fold validates once
    train, _ = fold_indices(folds, 5)
    assert set(folds[validation_fold(folds, train, test_fold=5, seed=1)[1]]) == {2}  # another seed, the fold after
    everything = np.arange(len(esc))
    assert set(folds[validation_fold(folds, everything, test_fold=None, seed=6)[1]]) == {2}  # the final model: 6 % 5
    with pytest.raises(DatasetError, match="holds 1 fold, so none can be held out whole"):
        validation_fold(folds, np.flatnonzero(folds == 3), test_fold=None, seed=0)
