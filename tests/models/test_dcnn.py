import pytest
import torch

from stasc.config import ConfigError, from_dict, to_dict
from stasc.models import BlockSpec, ConvSpec, ModelConfig, build_model, count_macs


def small(**changes) -> ModelConfig:
    return ModelConfig(**{"width_multiplier": 1 / 16, **changes})


def test_paper_shapes_exactly() -> None:
    config = ModelConfig.paper()
    assert config.output_grid() == (4, 64) and config.out_channels == 512 and config.spatial_size == 2048
    model = build_model(config).eval()
    with torch.no_grad():
        features = model.features(torch.randn(1, 1, 128, 128))
        assert features.shape == (1, 512, 4, 64)  # O ∈ R^{4×64×512}
        out = model(torch.randn(2, 1, 128, 128), return_attention=True)
    assert out.logits.shape == (2, 10) and out.a_tem.shape == (2, 64) and out.a_spa.shape == (2, 2048)


def test_cqt_mfcc_variant_shapes() -> None:
    config = ModelConfig.paper_cqt_mfcc()
    assert config.output_grid() == (4, 128) and config.out_channels == 256  # O ∈ R^{4×128×256}
    model = build_model(small(in_channels=2, blocks=config.blocks)).eval()
    with torch.no_grad():
        assert model.features(torch.randn(1, 2, 128, 128)).shape == (1, 16, 4, 128)


def test_paper_model_costs_about_3_5_gmac_and_matches_a_hook_count() -> None:
    config = ModelConfig.paper()
    assert 3.4e9 < count_macs(config) < 3.6e9
    config = small(pooling="mean")
    model = build_model(config).eval()
    counted = 0

    def hook(module, inputs, output):  # type: ignore[no-untyped-def]
        nonlocal counted
        if isinstance(module, torch.nn.Conv2d):
            counted += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Linear):
            counted += module.in_features * module.out_features
    for module in model.modules():
        module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.randn(1, 1, 128, 128))
    assert counted == count_macs(config)


def test_width_multiplier_scales_channels() -> None:
    model = build_model(ModelConfig(width_multiplier=0.25))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 64, 64, 64, 128, 128, 128]


@pytest.mark.parametrize("pooling,head", [("stap", "fc_relu"), ("stap", "linear"), ("mean", "fc_relu")])
def test_gradients_reach_every_parameter(pooling: str, head: str) -> None:
    torch.manual_seed(0)
    model = build_model(small(pooling=pooling, head=head, stap_norm=pooling == "stap"))
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
        reference = model(x)
        model = model.to(memory_format=torch.channels_last)
        out = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-5)


def test_same_seed_same_weights() -> None:
    torch.manual_seed(3)
    a = build_model(small())
    torch.manual_seed(3)
    b = build_model(small())
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_tiny_model_overfits_a_few_examples() -> None:
    torch.manual_seed(0)
    x = torch.randn(20, 1, 64, 64)
    y = torch.arange(20) % 10
    model = build_model(small(input_size=(64, 64), head="linear", pooling="mean"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(150):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() == 1.0


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"pooling": "max"}, "model.pooling must be 'stap' or 'mean', got 'max'"),
        ({"width_multiplier": -1.0}, "width_multiplier must be positive"),
        ({"input_size": (8, 128)}, "fewer than one row"),
        ({"n_classes": 1}, "n_classes must be at least 2"),
    ],
)
def test_bad_configs_name_the_field(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelConfig(**changes)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ModelConfig(blocks=[BlockSpec([ConvSpec(8, kernel_size=2)])])


def test_model_config_round_trips_through_dicts() -> None:
    config = ModelConfig.paper_cqt_mfcc(width_multiplier=0.5)
    assert from_dict(ModelConfig, to_dict(config)) == config
    with pytest.raises(ConfigError, match="unknown config key\\(s\\) blocks\\[0\\].convz"):
        from_dict(ModelConfig, {"blocks": [{"convz": []}]})
