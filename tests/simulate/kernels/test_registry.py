"""The kernel registry: every entry is a registered design with an importable kernel, and a
design without a kernel is an error on ``design`` listing the designs that can be simulated."""

from __future__ import annotations

import pytest

from doseladder.core.designs import DESIGNS
from doseladder.core.errors import InputError
from doseladder.simulate.kernels import KERNELS, kernel_for


class _Unsimulated:
    name = "not-a-kernel-design"


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_is_a_registered_design_with_a_callable(name: str) -> None:
    assert name in DESIGNS

    class Fake:
        pass

    fake = Fake()
    fake.name = name  # type: ignore[attr-defined]
    assert callable(kernel_for(fake))  # type: ignore[arg-type]


def test_no_kernel_lists_the_simulable_designs() -> None:
    with pytest.raises(InputError) as err:
        kernel_for(_Unsimulated())  # type: ignore[arg-type]
    assert err.value.field == "design"
    assert "'not-a-kernel-design'" in err.value.reason
    for name in KERNELS:
        assert name in err.value.reason
