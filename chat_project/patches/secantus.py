"""Where the embedded SecantusDB (0.7.0b3, pinned exactly) differs from mongod, patched
in the server's own process (``chat_project.dev.servers`` starts it): each patch gives
mongod's documented behaviour and has a test that states it."""

from __future__ import annotations


def install() -> None:
    from secantus.storage import Storage

    from chat_project.patches import (
        secantus_add_fields,
        secantus_bulk_write,
        secantus_id_range,
        secantus_indexes,
        secantus_planner,
        secantus_process,
    )

    secantus_add_fields.install()  # $addFields merges an embedded document
    secantus_indexes.install(Storage)  # an update maintains only the indexes it can change
    secantus_bulk_write.install()  # bulkWrite honours writeConcern.j (durable acks)
    secantus_planner.install(Storage)  # a filter with an _id equality is an _id lookup
    secantus_id_range.install(Storage)  # an _id range walks the _id index
    secantus_process.install()  # no full-heap collections; short thread hand-offs
