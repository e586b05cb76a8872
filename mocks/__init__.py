"""The world around the store: mock carrier servers (asyncio only; never imports locust)."""
