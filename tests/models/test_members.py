"""An ensemble inside one model (``model.members``): the average, its attention maps, its cost, and its training."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stasc.config import ConfigError, ExperimentConfig, load_experiment
from stasc.features.patches import Normalizer
from stasc.models import DCNN, MemberAverage, ModelConfig, build_model, count_macs


def small(**changes: object) -> ModelConfig:
    return ModelConfig.paper(**{"width_multiplier": 1 / 16, "input_size": (32, 32), **changes})


def test_the_model_is_the_log_of_its_members_mean_probability() -> None:
    torch.manual_seed(0)
    model = build_model(small(members=3, pooling="mean", head="linear")).eval()
    assert isinstance(model, MemberAverage) and len(model.members) == 3
    x = torch.randn(5, 1, 32, 32)
    with torch.no_grad():
        members = [model(x, member=m) for m in range(3)]
        torch.testing.assert_close(members[1], model.members[1](x))
        expected = torch.stack([m.softmax(-1) for m in members]).mean(0)
        torch.testing.assert_close(model(x).softmax(-1), expected)
        torch.testing.assert_close(model(x).exp().sum(-1), torch.ones(5))  # already normalised: log-probabilities
    # each member initialised on its own: three different networks, not one copied
    first = [m.classifier.weight for m in model.members]
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[1], first[2])


def test_attention_maps_are_the_members_means_and_still_sum_to_one() -> None:
    torch.manual_seed(0)
    model = build_model(small(members=2)).eval()  # STAP
    assert model.pooling.has_attention
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        out = model(x, return_attention=True)
        parts = [m(x, return_attention=True) for m in model.members]
    torch.testing.assert_close(out.a_tem, (parts[0].a_tem + parts[1].a_tem) / 2)
    torch.testing.assert_close(out.a_spa, (parts[0].a_spa + parts[1].a_spa) / 2)
    torch.testing.assert_close(out.a_tem.sum(-1), torch.ones(3))
    torch.testing.assert_close(out.logits, model(x))
    with pytest.raises(ValueError, match="return_attention is for the averaged model"):
        model(x, return_attention=True, member=0)


def test_one_member_is_a_plain_dcnn_whose_checkpoints_keep_their_layout() -> None:
    one = build_model(small())
    assert type(one) is DCNN and small().members == 1
    two = build_model(small(members=2))
    assert {f"members.{m}.{key}" for m in (0, 1) for key in one.state_dict()} == set(two.state_dict())
    assert count_macs(small(members=2)) == 2 * count_macs(small())
    with pytest.raises(ValueError, match="at least 2 members"):
        MemberAverage(small())
    # one signature for both: a single DCNN is its own member 0
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(one.eval()(x, member=0), one(x))
        with pytest.raises(ValueError, match="only member 0"):
            one(x, member=1)


def test_members_is_a_config_key_with_a_clear_error() -> None:
    assert load_experiment("sample", {"model": {"members": 3}}).model.members == 3
    with pytest.raises(ConfigError, match=r"model.members: input should be greater than 0"):
        load_experiment("sample", {"model": {"members": 0}})


def test_each_member_trains_on_its_own_augmentation_and_mixup_draw_with_its_own_loss(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from stasc.training import module as module_file
    from stasc.training.module import SceneClassifier

    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 32, "n_fft": 512, "hop_length": 256}],
                  "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "members": 2,
                  "pooling": "mean", "head": "linear"},
        "augment": {"time_shift": 4, "gain_db": 3.0, "freq_masks": 1},
        "mixup": {"enabled": True, "alpha": 0.2},
    })
    torch.manual_seed(0)
    module = SceneClassifier.create(config, ["a", "b", "c"], [Normalizer(np.zeros(32), np.ones(32))]).eval()
    mixed: list[tuple[torch.Tensor, torch.Tensor]] = []
    real_mixup = module_file.mixup

    def recording_mixup(*args: object, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor, object]:
        x, targets, info = real_mixup(*args, **kwargs)  # type: ignore[arg-type]
        mixed.append((x.clone(), targets.clone()))
        return x, targets, info

    monkeypatch.setattr(module_file, "mixup", recording_mixup)
    logged: dict[str, float] = {}
    monkeypatch.setattr(module, "log",
                        lambda name, value, **_: logged.__setitem__(name, float(torch.as_tensor(value).detach())))
    batch = (torch.randn(8, 1, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), torch.zeros(8, dtype=torch.long),
             torch.ones(8))
    loss = module.training_step(batch, 0)
    assert len(mixed) == 2 and not torch.equal(mixed[0][0], mixed[1][0])  # two draws, one per member
    # the loss is the sum of each member's loss on its own draw (so each gradient is what it would be alone);
    # the mean is logged, comparable with one model's
    with torch.no_grad():
        own = [F.cross_entropy(member(x), targets) for member, (x, targets) in zip(module.model.members, mixed)]
    torch.testing.assert_close(loss.detach(), own[0] + own[1])
    assert logged["train_loss"] == pytest.approx(float(loss) / 2)
    loss.backward()
    for member in module.model.members:
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in member.parameters())


def test_a_weighed_training_step_is_the_weighted_mean_of_its_patch_losses_with_weights_mixed_as_the_targets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from stasc.training import module as module_file
    from stasc.training.module import SceneClassifier

    def step(silent_patches: str, weights: torch.Tensor) -> tuple[torch.Tensor, list[tuple[torch.Tensor, ...]]]:
        config = ExperimentConfig.parse({
            "input": {"features": [{"kind": "logmel", "n_mels": 32, "n_fft": 512, "hop_length": 256}],
                      "patch_size": [32, 32]},
            "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "pooling": "mean",
                      "head": "linear"},
            "mixup": {"enabled": True, "alpha": 1.0}, "train": {"silent_patches": silent_patches}})
        torch.manual_seed(0)
        module = SceneClassifier.create(config, ["a", "b", "c"], [Normalizer(np.zeros(32), np.ones(32))]).eval()
        module.on_fit_start = lambda: None  # type: ignore[method-assign]
        module._rng = np.random.default_rng(3)
        monkeypatch.setattr(module, "log", lambda *_, **__: None)
        calls: list[tuple[torch.Tensor, ...]] = []
        real_mixup = module_file.mixup

        def recording_mixup(x: torch.Tensor, targets: torch.Tensor, **kwargs: object) -> tuple[object, ...]:
            out = real_mixup(x, targets, **kwargs)  # type: ignore[arg-type]
            calls.append((x.clone(), targets.clone(), out[0].clone(), out[1].clone(), torch.tensor(out[2])))
            return out

        monkeypatch.setattr(module_file, "mixup", recording_mixup)
        torch.manual_seed(1)
        batch = (torch.randn(6, 1, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2]), torch.zeros(6, dtype=torch.long),
                 weights.double())  # as the DataLoader collates the dataset's floats
        loss = module.training_step(batch, 0)
        with torch.no_grad():
            calls.append((module.model(calls[0][2]),))
        return loss, calls

    weights = torch.tensor([1.0, 0.25, 0.0, 1.0, 0.5, 1.0])
    loss, ((x, targets, mixed_x, mixed, lam), (logits,)) = step("weight", weights)
    # the weights rode along as a target column: the network saw the classes only, the weights mixed with them
    assert targets.shape == (6, 4) and mixed.shape == (6, 4)
    torch.testing.assert_close(targets[:, 3], weights)
    # each patch's partner, from the mixed inputs: λ·xᵢ + (1−λ)·xⱼ
    rest = (mixed_x - lam * x).flatten(1)
    partner = torch.cdist(rest, (1 - lam) * x.flatten(1)).argmin(1)
    assert 0.05 < float(lam) < 0.95 and sorted(partner.tolist()) == list(range(6))
    torch.testing.assert_close(mixed[:, 3], lam * weights + (1 - lam) * weights[partner])
    per_patch = F.cross_entropy(logits, mixed[:, :3], reduction="none")
    torch.testing.assert_close(loss.detach(), (mixed[:, 3] * per_patch).sum() / mixed[:, 3].sum())
    # unweighed ("drop", "keep"): the plain mean over the same draw (the same rng, so the same λ and partners)
    plain, ((_, plain_targets, plain_x, plain_mixed, plain_lam), (plain_logits,)) = step("drop", weights)
    assert plain_targets.shape == (6, 3) and float(plain_lam) == float(lam)
    torch.testing.assert_close(plain_x, mixed_x)
    torch.testing.assert_close(plain.detach(), F.cross_entropy(plain_logits, plain_mixed))
    assert abs(float(plain) - float(loss)) > 1e-4  # the weights changed the loss
