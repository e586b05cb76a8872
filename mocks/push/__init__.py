"""Webhook push of aggregator personalities: when (``schedule``), how (``delivery``), the record
(``journal``) and the loop the fleet server runs per pushing carrier (``runner.run_push``).
May import ``mocks.app`` (the carriers it pushes for) and peakbench; never the fleet process."""
