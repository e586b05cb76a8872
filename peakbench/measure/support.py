"""Expected complaints turned into support contacts and their cost: ``summary["support"]``.

A pure function of the summary's complaints and the profile's ``support:`` section
(:class:`peakbench.config.support.SupportSpec`, whose docstring cites the default costs). The
figure a manager reads is ``cost_per_1000_orders``: what the run's expected complaints would
cost the support team for every 1,000 orders, had they come in through live channels; next to
it, what the same questions cost when the tracking page answers them (``self_service``).
"""

from __future__ import annotations

from typing import Any

from peakbench.config.support import SOURCE, SupportSpec


def support_figures(spec: SupportSpec, complaints: dict[str, Any]) -> dict[str, Any]:
    """``summary["support"]`` from ``summary["complaints"]`` and the profile's ``support:``."""
    per_1000 = float(complaints.get("expected_per_1000_orders") or 0.0)
    expected = float(complaints.get("expected") or 0.0)
    contacts_1000 = per_1000 * spec.contacts_per_complaint
    contacts = expected * spec.contacts_per_complaint
    return {
        "contacts_per_1000_orders": round(contacts_1000, 3),
        "cost_per_1000_orders": round(contacts_1000 * spec.cost_per_contact, 2),
        "self_service_cost_per_1000_orders": round(contacts_1000 * spec.self_service_cost, 2),
        "contacts": round(contacts, 3),
        "cost": round(contacts * spec.cost_per_contact, 2),
        "contacts_per_complaint": spec.contacts_per_complaint,
        "cost_per_contact": spec.cost_per_contact,
        "self_service_cost": spec.self_service_cost,
        "currency": spec.currency,
        "source": SOURCE if spec == SupportSpec() else "the profile's support: section",
    }
