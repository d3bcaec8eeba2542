"""Development and test tooling, never loaded by a serving process: the embedded
servers (``servers``: ``python -m chat_project.dev.servers``), the development proxy
(``proxy``) and the pytest plugin that starts the servers for the suite
(``pytest_plugin``)."""
