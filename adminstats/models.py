"""The reporting app has no models of its own (the ``Agent`` proxy is ``agents.models``)."""
