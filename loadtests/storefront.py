"""How the replay's users talk to the store: the sandbox, or a real WooCommerce staging store.

Both go through the same WooCommerce adapter (:mod:`peakbench.adapters.woocommerce`); a real
store adds what its profile says (``target`` in ``RUN/replay.json``, a
:class:`~peakbench.config.targets.WooCommerceTarget`): how to authenticate (OAuth 1.0a, Basic or
query keys, signed per request), how to mark an order shipped, and where the customer's view of
tracking is read (:mod:`peakbench.adapters.readout`). Sans-I/O: builds requests, parses bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loadtests import tracking_page
from peakbench.adapters import woocommerce as wc
from peakbench.adapters.readout import needs_credentials, observe, readout_request
from peakbench.adapters.request import Request
from peakbench.config.targets import WooCommerceTarget


@dataclass(frozen=True, slots=True)
class Storefront:
    """Requests of one store. ``target`` is ``None`` for the sandbox (Basic auth, its own page)."""

    credentials: wc.Credentials
    target: WooCommerceTarget | None = None
    _basic: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        creds = self.credentials
        object.__setattr__(
            self, "_basic", wc.auth_header(creds.consumer_key, creds.consumer_secret)
        )

    def api(self, request: Request) -> Request:
        """``request`` with the REST API credentials (signed afresh for OAuth 1.0a)."""
        if self.target is None:
            if not request.headers:  # the usual case: skip dataclasses.replace (once a request)
                r = request
                return Request(r.method, r.path, r.params, r.json, self._basic)
            return request.with_headers(self._basic)
        return wc.authorize(request, self.target.url, self.credentials, self.target.auth)

    def create(self, ref: int, seed: int) -> Request:
        products = self.target.products if self.target is not None else ()
        return self.api(wc.create_order(ref, seed, products))

    def ship(
        self, handle: wc.OrderHandle, carrier: str, tracking_number: str, shipped_on: str
    ) -> Request:
        """Mark the order shipped with its tracking number, the way the target says."""
        target = self.target
        if target is None:
            return self.api(wc.ship(handle.id, carrier, tracking_number, shipped_on))
        provider = target.tracking_provider or carrier
        if target.ship_via == "meta":
            request = wc.ship_with_meta(
                handle.id, target.tracking_meta_key, provider, tracking_number, shipped_on
            )
        else:
            request = wc.ship(
                handle.id,
                provider,
                tracking_number,
                shipped_on,
                target.trackings_namespace,
                target.ship_fields,
            )
        return self.api(request)

    def view(self, handle: wc.OrderHandle) -> Request:
        """What a customer opens to see the order's tracking (public page: no credentials)."""
        if self.target is None:
            return wc.tracking_page(handle.id, handle.order_key)
        request = readout_request(self.target.readout, handle.id, handle.order_key)
        return self.api(request) if needs_credentials(self.target.readout) else request

    def observe(self, body: str) -> wc.Observation:
        """Parse what the view showed; ValueError when the body is not what the readout reads."""
        if self.target is None:
            return wc.parse_tracking_page(body)
        return observe(self.target.readout, body)

    def read_view(self, content: bytes, text: Callable[[], str]) -> wc.Observation:
        """:meth:`observe` of a view's response: the sandbox's canonical page is read by byte
        search (:mod:`loadtests.tracking_page`, the same answer); anything else is decoded
        (``text()``) and parsed in full."""
        if self.target is None:
            seen = tracking_page.read(content)
            if seen is not None:
                return seen
        return self.observe(text())

    def scrub(self, text: str) -> str:
        """``text`` (an error message that may quote a URL) without the credentials."""
        for value in (self.credentials.consumer_secret, self.credentials.consumer_key):
            text = text.replace(value, "***")
        return text
