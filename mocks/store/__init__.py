"""Owns the sandbox WooCommerce store: its database, REST routes, tracking page and plugin.

May import ``mocks._server`` and the Shopify sandbox it can serve instead; never the carriers."""
