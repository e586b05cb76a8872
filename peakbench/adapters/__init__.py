"""Store adapters: sans-I/O builders of store requests and parsers of store responses.

Each adapter is a module of pure functions; the Locust users, the probe and the preflight do the
I/O with whatever client their process world uses.
"""
