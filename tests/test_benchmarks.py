"""The benchmarks still run, and no contender loses a message. Speed itself is
never asserted here (a shared machine is too noisy): run the scripts for figures."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_broker  # noqa: E402
import bench_paho  # noqa: E402
import bench_receiver_page  # noqa: E402

from kit import throughput  # noqa: E402
from kit.broker import start_broker  # noqa: E402


@pytest.mark.parametrize("contender", list(bench_paho.CONTENDERS))
def test_every_throughput_contender_delivers_every_message(contender):
    rate, lost = throughput.throughput(start_broker(protocol=5), bench_paho.CONTENDERS[contender], 200)
    assert lost == 0 and rate > 0


def test_the_goals_compare_contenders_at_the_same_sampling():
    for goal in throughput.GOALS:
        mine, theirs = throughput.CONTENDERS[goal.contender], throughput.CONTENDERS[goal.against]
        assert mine.sampled == theirs.sampled and (mine.style, theirs.style) == ("kit", "blog")
    assert [g.at_least for g in throughput.GOALS] == [0.9, 1.0, 1.0]


def test_a_comparison_takes_turns_and_reports_each_goal_with_its_spread(capsys):
    result = bench_paho.compare(start_broker(protocol=5), "the embedded v5 broker", 100, 2)
    assert all(len(rates) == 2 for rates in result.rates.values())
    assert not any(result.lost.values())
    out = capsys.readouterr().out
    for goal in throughput.GOALS:
        assert f"goal: {goal.contender} / {goal.against}: " in out
    assert str(result).count("(rounds ") == 3


def test_per_message_reports_its_ratios(capsys):
    ratios = bench_paho.per_message(n=200, repeat=1)
    assert set(ratios) == {"cost/floor", "required/floor", "cost/required", "unsampled/propagation"}
    assert all(r > 0 for r in ratios.values())
    out = capsys.readouterr().out
    assert "no implementation can go below this" in out and "x propagation only" in out


@pytest.mark.parametrize("qos", [0, 1])
def test_the_broker_benchmark_loses_no_message_on_the_kits_broker(qos):
    rate, lost = bench_broker.throughput(start_broker(protocol=5), qos, 300)
    assert lost == 0 and rate > 0


def test_the_broker_benchmark_measures_the_memory_of_a_broker_process(tmp_path, capsys):
    bench_broker.compare_memory(tmp_path, flood_mb=2, cycles=20, kinds=["kit"])
    out = capsys.readouterr().out
    assert "after the flood" in out and "after the connects" in out


def test_the_receiver_page_benchmark_runs_small(capsys):
    """benchmarks/bench_receiver_page.py over 60 traces and 5 POSTs: every step reports."""
    bench_receiver_page.main(n_traces=60, n_posts=5)
    out = capsys.readouterr().out
    assert "The receiver holds 60 traces (180 spans)" in out and "no page open (baseline)" in out
    if bench_receiver_page.CHROMIUM:
        assert "the page open, following" in out and "goal (median <= 50 ms" in out
        assert "2. a trace sent while the page is open is listed after" in out
        assert "failed" not in out.split("3. the page itself")[1] and "4. the receiver's peak memory" in out
