"""The DCNN: the paper's shapes and cost, both heads, gradients, numerics, and its typed config."""

import pytest
import torch
import yaml

from stasc.config import ConfigError
from stasc.models import BlockSpec, ConvSpec, ModelConfig, build_model, count_macs
from stasc.models.pooling import MeanPoolingSettings, STAPSettings


def small(**changes: object) -> ModelConfig:
    return ModelConfig.paper(**{"width_multiplier": 1 / 16, **changes})


@pytest.fixture()
def one_thread():  # type: ignore[no-untyped-def]
    """Many small ops in a row: on 2 shared cores every intra-op thread barrier waits for a time slice
    (measured 60 s for 40 steps with 2 threads, 1.3 s with 1); the numbers do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_paper_shapes_exactly() -> None:
    config = ModelConfig.paper()
    assert config == ModelConfig() and config.pooling == STAPSettings() and config.head == "fc_relu"
    assert config.output_grid() == (4, 64) and config.out_channels == 512 and config.spatial_size == 2048
    model = build_model(config).eval()
    with torch.no_grad():
        assert model.features(torch.randn(1, 1, 128, 128)).shape == (1, 512, 4, 64)  # O ∈ R^{4×64×512}
        for batch in (1, 3):
            out = model(torch.randn(batch, 1, 128, 128), return_attention=True)
            assert out.logits.shape == (batch, 10)
            assert out.a_tem.shape == (batch, 64) and out.a_spa.shape == (batch, 2048)  # T = 64, S = 4·512


def test_cqt_mfcc_variant_shapes() -> None:
    config = ModelConfig.paper_cqt_mfcc()
    assert config.in_channels == 2 and config.conv_shapes()[0].stride == 1
    assert config.output_grid() == (4, 128) and config.out_channels == 256  # O ∈ R^{4×128×256}
    model = build_model(config).eval()
    with torch.no_grad():
        assert model.features(torch.randn(1, 2, 128, 128)).shape == (1, 256, 4, 128)
        out = build_model(ModelConfig.paper_cqt_mfcc(width_multiplier=1 / 16))(
            torch.randn(3, 2, 128, 128), return_attention=True
        )
    assert out.logits.shape == (3, 10) and out.a_tem.shape == (3, 128) and out.a_spa.shape == (3, 4 * 16)


def test_mean_head_returns_logits_and_no_attention() -> None:
    model = build_model(small(pooling="mean")).eval()
    with torch.no_grad():
        x = torch.randn(2, 1, 128, 128)
        out = model(x, return_attention=True)
        assert out.a_tem is None and out.a_spa is None
        torch.testing.assert_close(out.logits, model(x))


def test_attention_vectors_are_distributions() -> None:
    model = build_model(small()).eval()
    with torch.no_grad():
        out = model(torch.randn(4, 1, 128, 128), return_attention=True)
    for a in (out.a_tem, out.a_spa):
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(4))


def hook_count(model: torch.nn.Module, x: torch.Tensor) -> int:
    """MACs counted from the layers' real outputs during a forward."""
    counted = 0

    def hook(module, inputs, output):  # type: ignore[no-untyped-def]
        nonlocal counted
        if isinstance(module, torch.nn.Conv2d):
            counted += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Linear):
            counted += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return counted


def test_paper_model_costs_about_3_5_gmac_and_matches_a_hook_count() -> None:
    assert count_macs(ModelConfig.paper()) == 3_525_595_136  # ≈ 3.5 GMAC per 1×128×128 patch
    for config in (small(), small(pooling="mean", n_classes=7), ModelConfig.paper_cqt_mfcc(width_multiplier=1 / 16)):
        model = build_model(config).eval()
        assert hook_count(model, torch.randn(1, config.in_channels, 128, 128)) == count_macs(config)


def test_width_multiplier_scales_channels() -> None:
    model = build_model(ModelConfig(width_multiplier=0.25))  # keyword construction validates too
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 64, 64, 64, 128, 128, 128]
    assert model.classifier.in_features == 4 * 128 and model.pooling.w_tem.shape == (4 * 128,)


@pytest.mark.parametrize(
    "changes",
    [
        {"pooling": "stap", "head": "fc_relu"},
        {"pooling": {"kind": "stap", "scale": "st"}, "head": "linear"},
        {"pooling": {"kind": "stap", "norm": True}, "head": "linear", "dropout": 0.5},
        {"pooling": "mean", "head": "fc_relu"},
    ],
)
def test_gradients_reach_every_parameter(changes: dict) -> None:
    torch.manual_seed(0)
    model = build_model(small(**changes))
    if changes["head"] == "fc_relu":
        with torch.no_grad():  # a ReLU head can zero every logit of a random init and hide gradients
            model.classifier.bias.fill_(1.0)
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 1, 128, 128)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_channels_last_gives_the_same_logits() -> None:
    torch.manual_seed(0)
    model = build_model(small()).eval()
    x = torch.randn(2, 1, 128, 128)
    with torch.no_grad():
        reference = model(x, return_attention=True)
        model = model.to(memory_format=torch.channels_last)
        out = model(x.contiguous(memory_format=torch.channels_last), return_attention=True)
    # float32 convs in another memory layout sum in another order: ~1e-6 relative
    for got, want in zip(out, reference):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_runs_and_stays_near_float32() -> None:
    torch.manual_seed(0)
    model = build_model(small(head="linear")).eval()
    x = torch.randn(2, 1, 128, 128)
    with torch.no_grad():
        reference = model(x, return_attention=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x, return_attention=True)
    assert out.logits.shape == (2, 10) and torch.isfinite(out.logits.float()).all()
    # bf16 keeps ~3 significant digits (eps 2^-8) and the error grows over ten convs: measured 0.2-0.3 %
    # of the largest logit over three seeds (the logits of a fresh STAP model are small, ~0.08, so the
    # bound is relative to them)
    scale = reference.logits.abs().max().item()
    torch.testing.assert_close(out.logits.float(), reference.logits, rtol=0, atol=0.03 * scale)
    # the attention weights: measured 1e-4 relative
    torch.testing.assert_close(out.a_tem.float(), reference.a_tem, rtol=2e-3, atol=0)
    torch.testing.assert_close(out.a_tem.float().sum(-1), torch.ones(2), rtol=0, atol=1e-2)


def test_same_seed_same_weights() -> None:
    torch.manual_seed(3)
    a = build_model(small())
    torch.manual_seed(3)
    b = build_model(small())
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    torch.manual_seed(4)
    c = build_model(small())
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


@pytest.mark.parametrize(
    "changes",
    [{"pooling": "mean"}, {"pooling": {"kind": "stap", "scale": "st"}}, {"pooling": {"kind": "stap", "norm": True}}],
)
def test_tiny_model_overfits_a_few_examples(changes: dict, one_thread: None) -> None:
    """20 fixed random patches of 10 classes are learnt by heart within 150 Adam steps."""
    torch.manual_seed(0)
    x = torch.randn(20, 1, 128, 128)
    y = torch.arange(20) % 10
    model = build_model(small(head="linear", **changes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    accuracy = 0.0
    for step in range(1, 151):
        model.train()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if step % 10 == 0:  # seeded, so where it stops is deterministic (40–60 steps measured)
            model.eval()
            with torch.no_grad():
                accuracy = (model(x).argmax(1) == y).float().mean().item()
            if accuracy == 1.0:
                break
    assert accuracy == 1.0


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"pooling": "median"}, "pooling: got 'median', expected one of .*stap"),
        ({"pooling": {"kind": "stap", "scale": "s"}}, "pooling.scale: input should be 'none' or 'st', got 's'"),
        ({"stap_scale": "st"}, "unknown config key stap_scale; known keys: .*pooling"),  # the old field
        ({"head": "softmax"}, "head: input should be 'fc_relu' or 'linear', got 'softmax'"),
        ({"width_multiplier": -1.0}, "width_multiplier: input should be greater than 0, got -1.0"),
        ({"width_multiplier": 0}, "width_multiplier: input should be greater than 0, got 0"),
        ({"width_multiplier": float("nan")}, "width_multiplier: input should be a finite number, got nan"),
        ({"in_channels": 0}, "in_channels: input should be greater than 0, got 0"),
        ({"input_size": (128, 0)}, "input_size\\[1\\]: input should be greater than 0, got 0"),
        ({"input_size": (8, 128)}, "block 2 of blocks pools the \\(8, 128\\) input down to 0×64"),
        ({"blocks": []}, "blocks: list should have at least 1 item .*got \\[\\]"),
        ({"n_classes": 1}, "n_classes: input should be greater than or equal to 2, got 1"),
        ({"dropout": 1.0}, "dropout: input should be less than 1, got 1.0"),
        (
            {"blocks": [{"convs": [{"out_channels": 8, "stride": 2}], "pool_kernel": (2, 4),
                         "pool_stride": (2, 4)}] * 6},
            "block 2 of blocks pools the \\(128, 128\\) input down to 2×0",
        ),
        ({"blocks": [{"convs": [{"out_channels": 8, "kernel_size": 2}]}]},
         "blocks\\[0\\].convs\\[0\\].kernel_size: kernel_size 2: expected an odd size"),
        ({"blocks": [{"convs": [{"out_channels": 0}]}]},
         "blocks\\[0\\].convs\\[0\\].out_channels: input should be greater than 0, got 0"),
        ({"blocks": [{"convs": [{"out_channels": 8, "stride": -1}]}]}, "blocks\\[0\\].convs\\[0\\].stride: .*got -1"),
        ({"blocks": [{"convs": []}]}, "blocks\\[0\\].convs: list should have at least 1 item"),
        ({"blocks": [{"convs": [{"out_channels": 8}], "pool_kernel": (2, 0)}]},
         "blocks\\[0\\].pool_kernel\\[1\\]: .*got 0"),
        ({"blocks": [{"convs": [{"out_channels": 8}], "pool_stride": (2, 3)}]},
         "blocks\\[0\\]: pool_stride \\(2, 3\\): expected a time stride at most the time kernel 2"),
        ({"blocks": [{"convz": []}]},
         "unknown config key blocks\\[0\\].convz; known keys of blocks\\[0\\]: convs, pool_kernel"),
    ],
)
def test_bad_configs_name_the_key_and_the_value(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ModelConfig.parse(changes)


def test_keyword_construction_validates_too() -> None:
    assert ConvSpec(out_channels=64) == ConvSpec.parse({"out_channels": 64, "kernel_size": 3, "stride": 1})
    with pytest.raises(ValueError, match="expected an odd size"):
        ConvSpec(out_channels=8, kernel_size=2)
    with pytest.raises(ValueError, match="out_channels"):
        ConvSpec()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="convs"):
        BlockSpec(convs=[])


def test_model_config_round_trips_through_dicts_and_yaml() -> None:
    config = ModelConfig.paper_cqt_mfcc(width_multiplier=0.5, pooling={"kind": "stap", "scale": "st"}, head="linear")
    assert config.in_channels == 2 and config.pooling == STAPSettings(scale="st")
    data = config.to_dict()
    assert data["pooling"] == {"kind": "stap", "scale": "st", "norm": False}
    assert ModelConfig.parse(data) == config
    assert ModelConfig.parse(yaml.safe_load(yaml.safe_dump(data))) == config
    assert ModelConfig.parse({"pooling": "mean"}).pooling == MeanPoolingSettings()
    assert config.replaced(head="fc_relu").head == "fc_relu" and config.head == "linear"
    built = ModelConfig.parse({"blocks": [{"convs": [{"out_channels": 8, "stride": 2}], "pool_kernel": [2, 2]}]})
    assert built.blocks == [BlockSpec(convs=[ConvSpec(out_channels=8, stride=2)])] and built.output_grid() == (32, 64)
