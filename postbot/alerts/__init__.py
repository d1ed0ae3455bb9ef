"""Alerts: what is worth telling a person (events.py) and how it is told, at most one digest per kind
per window (digest.py). Both are pure; app/alerting.py reads the store, calls them and queues the
digests as ordinary deliveries to the POSTBOT_ALERTS channels."""
