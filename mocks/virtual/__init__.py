"""The sandbox world in virtual store time (DESIGN.md "Time").

The same store, queue, plugin, carrier personalities, behaviours, pushes and journals that the
wall-time processes serve, run in one process on an event loop whose clock jumps to the next
thing that is due. Requests between them go in-process (:mod:`mocks.virtual.transport`), the
schedule enters at its store instants (:mod:`mocks.virtual.replay`), and modelled latency is the
only latency: the same profile and seed give the same run folder's figures on any machine.
"""
