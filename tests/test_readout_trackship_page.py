"""The HTML readout on TrackShip for WooCommerce 2.0.7's tracking page: localized event times,
and the "not yet available" placeholder that is not an event."""

from __future__ import annotations

from peakbench.adapters.readout import read_html
from peakbench.config.targets import HtmlReadout

TRACKSHIP = HtmlReadout(
    page="/ts-shipment-tracking/?order_id={order_id}&order_key={order_key}",
    status_selector=".heading_shipment_status",
    status_attribute="text",
    event_selector=".tracking_detail",
    event_exclude_text="not yet available",
    event_time_selector="strong",
    event_time_attribute="text",
    event_time_format="%B %d, %Y %I:%M %p",
)

PENDING = """<div class="enhanced_overview enhanced_tracking_details enhanced_overview_1">
  <div class="heading_shipment_status pending_trackship">Shipped</div>
  <div class="tracking_detail shipped pending_trackship">
    <strong>December 2, 2026</strong>
    <div>Tracking is still not yet available for this shipment, please try again later.</div>
  </div>
</div>"""

MOVING = """<div class="enhanced_overview enhanced_tracking_details enhanced_overview_1">
  <div class="heading_shipment_status in_transit">In Transit</div>
  <div class="tracking_detail shipped in_transit">
    <strong>December 3, 2026 7:05 am</strong><div>Departed USPS facility</div>
  </div>
</div>
<div class="enhanced_journey enhanced_tracking_details enhanced_journey_1" style="display:none;">
  <div class="tracking_detail"><strong>December 2, 2026 9:46 pm</strong>
    <div>Accepted at USPS origin facility - Austin</div></div>
  <div class="tracking_detail"><strong>December 2, 2026 12:28 am</strong>
    <div>Shipping label created</div></div>
</div>"""


def test_the_placeholder_is_not_an_event() -> None:
    seen = read_html(TRACKSHIP, PENDING)
    assert (seen.shown, seen.newest_occurred, seen.status) == (0, None, "Shipped")
    loose = TRACKSHIP.model_copy(update={"event_exclude_text": None})
    assert read_html(loose, PENDING).shown == 1  # what a loose selector counted


def test_localized_times_are_read_as_instants() -> None:
    seen = read_html(TRACKSHIP, MOVING)
    assert seen.shown == 3 and seen.status == "In Transit"
    assert seen.newest_occurred == "2026-12-03T07:05:00+00:00"
    in_new_york = TRACKSHIP.model_copy(update={"timezone": "America/New_York"})
    assert read_html(in_new_york, MOVING).newest_occurred == "2026-12-03T07:05:00-05:00"
    midnight = read_html(TRACKSHIP, MOVING.split("enhanced_journey")[0] + '">')
    assert midnight.shown == 1


def test_a_css_exclusion_works_too() -> None:
    spec = TRACKSHIP.model_copy(
        update={"event_exclude_text": None, "event_exclude": ".pending_trackship"}
    )
    assert read_html(spec, PENDING).shown == 0 and read_html(spec, MOVING).shown == 3
