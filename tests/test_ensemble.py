import numpy as np
import pytest

from stasc.ensemble import VOTE_PROTOCOL, ensemble_protocol, majority_vote, soft_vote
from stasc.evaluation.predictions import Predictions
from stasc.evaluation.protocol import Protocol

CLASSES = ("a", "b", "c")


def member(probs: list[list[float]], files: list[str] | None = None, folds: list[int] | None = None) -> Predictions:
    files = files or [f"clip{i}" for i in range(len(probs))]
    return Predictions(files, ["a"] * len(probs), np.array(folds or [0] * len(probs)), CLASSES, np.array(probs))


def test_unanimous_vote() -> None:
    voted = majority_vote([member([[0.6, 0.3, 0.1]]), member([[0.5, 0.4, 0.1]]), member([[0.9, 0.05, 0.05]])])
    assert voted.predicted == ["a"]
    assert voted.probabilities[0, 0] == pytest.approx(1.0)


def test_majority_beats_a_confident_minority() -> None:
    # two members say b weakly, one says a with certainty: the vote says b, the soft vote says a
    members = [member([[0.2, 0.41, 0.39]]), member([[0.2, 0.41, 0.39]]), member([[1.0, 0.0, 0.0]])]
    assert majority_vote(members).predicted == ["b"]
    assert soft_vote(members).predicted == ["a"]
    assert majority_vote(members).probabilities[0, 1] == pytest.approx(2 / 3)


def test_tie_is_broken_by_summed_probabilities_of_the_tied_classes() -> None:
    # a and b get one vote each (c one too): summed probabilities a 0.5+0.1+0.3=0.9, b 0.4+0.6+0.3=1.3, c 0.8
    members = [member([[0.5, 0.4, 0.1]]), member([[0.1, 0.6, 0.3]]), member([[0.3, 0.3, 0.4]])]
    assert majority_vote(members).predicted == ["b"]
    # two members only, a tie between a and c; c has the larger sum
    assert majority_vote([member([[0.5, 0.1, 0.4]]), member([[0.1, 0.3, 0.6]])]).predicted == ["c"]


def test_complete_tie_goes_to_the_first_class() -> None:
    assert majority_vote([member([[0.6, 0.4, 0.0]]), member([[0.4, 0.6, 0.0]])]).predicted == ["a"]


def test_members_are_aligned_by_file_name() -> None:
    first = member([[1, 0, 0], [0, 1, 0]], ["x", "y"])
    second = member([[0, 1, 0], [1, 0, 0]], ["y", "x"])
    assert majority_vote([first, second]).predicted == ["a", "b"]


@pytest.mark.parametrize(
    "other,match",
    [
        (member([[1, 0, 0]], ["z"]), "member 1 has 1 clips that member 0 lacks"),
        (member([[1, 0, 0]], ["clip0"], [3]), "fold of clip clip0 differs"),
    ],
)
def test_runs_that_do_not_share_folds_are_refused(other: Predictions, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        majority_vote([member([[1, 0, 0]]), other])
    with pytest.raises(ValueError, match="at least 2 members"):
        soft_vote([other])


def test_tie_in_summed_probabilities_ignores_rounding() -> None:
    # a and b one vote each; summed a = 0.45 + 0.25 and b = 0.15 + 0.55 are equal, but in floats
    # a = 0.7 < b = 0.7000000000000001: a tie all the same, so the lower class index (a) wins
    members = [member([[0.45, 0.15, 0.4]]), member([[0.25, 0.55, 0.2]])]
    assert 0.45 + 0.25 < 0.15 + 0.55
    assert majority_vote(members).predicted == ["a"]


def test_vote_shares_and_soft_mean() -> None:
    members = [member([[0.5, 0.4, 0.1]]), member([[0.1, 0.6, 0.3]]), member([[0.2, 0.7, 0.1]])]
    np.testing.assert_allclose(majority_vote(members).probabilities, [[1 / 3, 2 / 3, 0.0]])
    np.testing.assert_allclose(soft_vote(members).probabilities, [[0.8 / 3, 1.7 / 3, 0.5 / 3]])


def test_members_with_other_labels_or_classes_are_refused() -> None:
    other_label = Predictions(["clip0"], ["b"], np.array([0]), CLASSES, np.array([[1.0, 0, 0]]))
    with pytest.raises(ValueError, match=r"label of clip clip0 differs between member 0 \(a\) and member 1 \(b\)"):
        majority_vote([member([[1, 0, 0]]), other_label])
    other_classes = Predictions(["clip0"], ["a"], np.array([0]), ("a", "b", "d"), np.array([[1.0, 0, 0]]))
    with pytest.raises(ValueError, match="member 1 has classes"):
        soft_vote([member([[1, 0, 0]]), other_classes])
    missing = member([[1, 0, 0]], ["clip0"])
    with pytest.raises(ValueError, match="lacks 1 of its clips"):
        majority_vote([member([[1, 0, 0], [0, 1, 0]]), missing])


def test_an_ensembles_protocol_names_the_vote_and_its_members_shared_protocol() -> None:
    honest = Protocol("validation", 0.125, "dataset", 40, "val_accuracy").to_dict()
    protocol = ensemble_protocol({"a": honest, "b": dict(honest)})
    assert protocol["selection"] == "validation" and protocol["folds"] == "dataset"
    assert protocol["description"].startswith(VOTE_PROTOCOL) and honest["description"] in protocol["description"]


def test_a_vote_with_a_member_selected_on_the_test_fold_is_optimistic() -> None:
    honest = Protocol("validation", 0.125, "dataset", 40, "val_accuracy").to_dict()
    optimistic = Protocol("test-fold", 0.0, "dataset", 40, "val_accuracy").to_dict()
    protocol = ensemble_protocol({"envsound": honest, "paper": optimistic})
    assert protocol["selection"] == "test-fold"
    assert "envsound: " + honest["description"] in protocol["description"]
    assert "paper: " + optimistic["description"] in protocol["description"]
    fixed = Protocol("last", 0.0, "dataset", 40, None).to_dict()
    assert ensemble_protocol({"a": honest, "b": fixed})["selection"] == "mixed"
