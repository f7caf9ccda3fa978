"""Where an extension point still has more than one list, the lists must agree: a fault, a gate or a shape that
one of them forgets fails here, naming the list (instead of a scenario silently refusing it, or a gate that
validates and is never judged)."""

from __future__ import annotations

from types import ModuleType
from typing import Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

from taxstorm.chaos import container, network, platform, process
from taxstorm.chaos.registry import default_registry
from taxstorm.gameday.catalogue import catalogue
from taxstorm.gates import GATES, GateSpec
from taxstorm.scaling import shapes
from taxstorm.scenario import FaultStep


@pytest.mark.parametrize("family", [network, platform, process, container], ids=lambda m: m.__name__)
def test_each_family_lists_its_faults_and_their_specs_alike(family: ModuleType) -> None:
    specs = next(value for name, value in vars(family).items() if name.endswith("_SPECS"))
    assert set(get_args(specs)) == {fault.spec_type for fault in family.FAULTS}


def test_every_registered_fault_can_be_a_scenario_step_and_nothing_else_can() -> None:
    steps = {spec.model_fields["type"].default for spec in get_args(get_args(FaultStep)[0])}
    assert steps == set(default_registry().names())


def test_every_gate_a_scenario_can_name_is_judged_by_a_function() -> None:
    names = {spec.model_fields["type"].default for spec in get_args(GateSpec)}
    assert names == set(GATES)


def test_the_chaos_tab_offers_every_registered_fault() -> None:
    offered = {info.type: info for info in catalogue(default_registry())}
    assert set(offered) == set(default_registry().names())
    no_params = ("down", "crash", "hang", "handshake_stall")
    assert all(info.params or info.type in no_params for info in offered.values())  # a form each


def test_every_shape_has_its_own_type() -> None:
    assert all(name == spec.model_fields["type"].default for name, spec in shapes().items())


def test_every_platform_mode_has_a_harness_fault_and_every_mode_fault_a_route() -> None:
    from taxstorm.mock_platform.fault_modes import MODES

    switched = {fault.path for fault in platform.FAULTS if issubclass(fault, platform.ModeFault)}
    assert switched == {f"/admin/faults/{route}" for route in MODES}


def test_every_platform_mode_has_its_admin_routes() -> None:
    from taxstorm.mock_platform.api.faults import router
    from taxstorm.mock_platform.fault_modes import MODES

    routes = {
        (method, getattr(route, "path", "")) for route in router.routes for method in getattr(route, "methods", ())
    }
    for name in MODES:
        assert {("PUT", f"/admin/faults/{name}"), ("DELETE", f"/admin/faults/{name}")} <= routes, name


def test_the_harness_names_what_the_platform_knows() -> None:
    """The harness writes its platform faults from the platform's documented API (it could face another
    platform), so it keeps its own lists; against the mock platform they must be the same."""
    from taxstorm.mock_platform.availability import FEATURES
    from taxstorm.mock_platform.fault_modes import RELEASES, REQUIRABLE_FIELDS, GhostMode
    from taxstorm.mock_platform.settings import FAMILIES, FamilyCapacity

    def literal(model: type[BaseModel], name: str) -> set[str]:
        annotation = model.model_fields[name].annotation
        while get_args(annotation) and get_origin(annotation) is not Literal:
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        return set(get_args(annotation))

    assert set(get_args(platform.Family)) == set(FAMILIES)
    assert set(get_args(platform.Feature)) == set(FEATURES)
    assert literal(platform.PolicyChangeSpec, "required_fields") == set(REQUIRABLE_FIELDS)
    assert literal(platform.BadReleaseSpec, "release") == set(RELEASES) - {"stable"}
    assert literal(platform.GhostSuccessSpec, "answer") == literal(GhostMode, "answer")
    assert literal(platform.CapacitySpec, "policy") == literal(FamilyCapacity, "policy")
