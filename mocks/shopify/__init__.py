"""Owns the Shopify-shaped sandbox store: Admin GraphQL with its cost bucket, webhooks, the
tracking app. May import ``mocks.store`` (its database, page and plugin policy) and
``peakbench``'s plan and adapters; never the carriers."""
