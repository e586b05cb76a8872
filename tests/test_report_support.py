"""Support cost: the profile's ``support:`` section and the figures it turns complaints into;
and the outage causes (first and last) the explanation tells."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from peakbench.config.loader import ProfileError, parse_profile
from peakbench.config.profile import Profile
from peakbench.config.support import SupportSpec
from peakbench.measure.journals import CarrierRecord
from peakbench.measure.outages import find_outages
from peakbench.measure.support import support_figures

COMPLAINTS = {"expected": 101.85, "expected_per_1000_orders": 20.9}


def test_default_costs_are_gartners_and_cited() -> None:
    figures = support_figures(SupportSpec(), COMPLAINTS)
    assert figures["contacts_per_1000_orders"] == pytest.approx(20.9)
    assert figures["cost_per_1000_orders"] == pytest.approx(167.41)  # 20.9 × $8.01
    assert figures["self_service_cost_per_1000_orders"] == pytest.approx(2.09)  # 20.9 × $0.10
    assert figures["contacts"] == pytest.approx(101.85)
    assert figures["cost"] == pytest.approx(815.82)
    assert figures["currency"] == "USD" and "Gartner" in figures["source"]
    assert "destinationcrm.com" in figures["source"]


def test_a_profile_sets_its_own_costs(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(
        support={"contacts_per_complaint": 1.5, "cost_per_contact": 5.0, "currency": "EUR"}
    )
    figures = support_figures(profile.support, COMPLAINTS)
    assert figures["contacts_per_1000_orders"] == pytest.approx(31.35)
    assert figures["cost_per_1000_orders"] == pytest.approx(156.75)
    assert figures["currency"] == "EUR"
    assert figures["source"] == "the profile's support: section"
    # no complaints, no cost
    assert support_figures(SupportSpec(), {})["cost_per_1000_orders"] == 0.0
    # a profile without the section gets the defaults
    assert make_profile().support == SupportSpec()


@pytest.mark.parametrize(
    ("support", "words"),
    [
        ({"cost_per_contact": -1}, "support.cost_per_contact"),
        ({"currency": "dollars"}, "support.currency"),
        ({"cost_per_contct": 5}, "did you mean 'cost_per_contact'"),
    ],
)
def test_bad_support_settings_are_profile_errors(support: dict, words: str) -> None:
    text = yaml.safe_dump({"name": "bf", "carriers": [{"name": "generic"}], "support": support})
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "bf.yaml")
    assert any(words in str(issue) for issue in err.value.issues), err.value.issues


def _rec(t: float, outcome: str, cause: str | None = None) -> CarrierRecord:
    return CarrierRecord(t, "generic", "/track", 200, outcome, cause, 1)


def test_an_outage_keeps_its_first_cause_and_the_order_of_its_causes() -> None:
    records = [
        _rec(0, "ok"),
        _rec(10, "throttled", "quota:1d"),
        _rec(20, "throttled", "quota:1d"),
        _rec(30, "blocked", "ban"),
        _rec(40, "throttled", "quota:1d"),
        _rec(50, "blocked", "ban"),
        _rec(60, "ok"),
        _rec(70, "blocked", "ban"),
    ]
    first, second = find_outages(records, end=100)
    assert (first.start, first.end, first.cause, first.first_cause) == (10, 60, "ban", "quota:1d")
    assert first.causes == (("quota:1d", 10, 3), ("ban", 30, 2))
    assert first.refused == 5 and not first.open
    assert (second.first_cause, second.cause, second.open, second.end) == ("ban", "ban", True, 100)
    assert second.causes == (("ban", 70, 1),)
