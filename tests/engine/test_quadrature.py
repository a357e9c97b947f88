"""The integration path's points and weights are Captum's (computed here without importing Captum's
private module; this test pins them to it and says so clearly if Captum moves it)."""

import pytest

from netviz_widget.engine.attribution import approximation

METHODS = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]


def _captum(method: str, n: int) -> tuple[list[float], list[float]]:
    try:
        from captum.attr._utils.approximation_methods import approximation_parameters
    except ImportError as error:  # pragma: no cover - only when Captum moves it
        pytest.fail(f"Captum moved approximation_parameters ({error}): find its new home and update this "
                    "reference check; netviz_widget.engine.attribution.approximation itself needs no change")
    step_sizes, alphas = approximation_parameters(method)
    return alphas(n), step_sizes(n)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [2, 3, 8, 51])
def test_points_and_weights_equal_captums(method: str, n: int) -> None:
    alphas, steps = approximation(method, n)
    want_alphas, want_steps = _captum(method, n)
    assert list(alphas) == pytest.approx(want_alphas, abs=1e-12)
    assert list(steps) == pytest.approx(want_steps, abs=1e-12)
    assert sum(steps) <= 1 + 1e-9  # (Captum's trapezoid halves both ends of 1/n steps)


def test_unknown_method_is_named() -> None:
    with pytest.raises(ValueError, match="riemann_middle"):
        approximation("simpson", 8)
