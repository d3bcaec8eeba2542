"""bench/server_metrics.py reads the gateway's own histograms (chat_project.metrics) to
say which stage made a benchmark's slow messages slow: the names it reads must be the
ones the process exports, and a window's counts must be the differences."""

from prometheus_client import generate_latest

from bench import server_metrics
from chat_project import metrics


def _exposition() -> dict:
    return server_metrics.parse(generate_latest().decode())


def test_a_window_counts_each_stage_s_events_over_each_threshold():
    before = _exposition()
    for seconds in (0.003, 0.03, 0.07):
        metrics.writer_round_seconds.observe(seconds)
    metrics.ack_seconds.labels("send-message").observe(0.2)
    metrics.db_seconds.labels("bulkWrite").observe(0.001)
    metrics.redis_seconds.labels("publish_batch").observe(0.001)
    metrics.fanout_seconds.observe(0.001)

    tails = server_metrics.tails(before, _exposition())

    assert tails["writer round"] == {"n": 3, ">10ms": 2, ">25ms": 2, ">50ms": 1, ">100ms": 0}
    assert tails["ack[send-message]"] == {"n": 1, ">10ms": 1, ">25ms": 1, ">50ms": 1, ">100ms": 1}
    # Every stage the runner names is one the gateway exports.
    assert {"db[bulkWrite]", "redis[publish_batch]", "fan-out"} <= set(tails)
    assert set(server_metrics.STAGES.values()) == {stage.split("[")[0] for stage in tails}
    assert server_metrics.line(tails) == (
        "server stages over 50/100 ms: ack[send-message] 1/1 of 1, writer round 1/0 of 3"
    )


def test_a_quiet_window_has_no_stage_to_name():
    snapshot = _exposition()
    assert server_metrics.tails(snapshot, snapshot) == {}
    assert server_metrics.line({}) == "server stages: none over 50 ms"
