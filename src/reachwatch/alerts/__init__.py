"""Alert rules (the YAML rule language and its checks) and the channels that deliver alerts.

Below the service layer: nothing here reads the store. The engine that evaluates rules on the
stream and the inbox are use cases (service/alerts.py); the delivery queue is service/delivery.py.
"""
