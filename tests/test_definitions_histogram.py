"""Distributions in HDR histograms pinned: peakbench/measure/histogram.py."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from peakbench.measure.histogram import Distribution


def _of(*seconds: float, resolution_s: float = 0.001) -> Distribution:
    d = Distribution(resolution_s)
    for s in seconds:
        d.record(s)
    return d


def test_an_empty_distribution_has_a_count_and_nothing_else() -> None:
    d = Distribution()
    assert d.count == 0 and d.percentile(50) is None and d.encode() == ""
    assert d.summary() == {
        "count": 0,
        "p50": None,
        "p90": None,
        "p95": None,
        "p99": None,
        "max": None,
        "mean": None,
        "resolution_s": 0.001,
    }


def test_summary_of_a_few_durations() -> None:
    d = _of(*(float(s) for s in range(1, 101)), resolution_s=2.5)
    assert d.summary() == {
        "count": 100,
        "p50": 50.015,
        "p90": 90.047,
        "p95": 95.039,
        "p99": 99.007,
        "max": 100.0,
        "mean": 50.504,
        "resolution_s": 2.5,
    }


def test_values_are_milliseconds_with_three_significant_digits() -> None:
    assert _of(0.0004).percentile(50) == 0.0
    assert _of(0.0006).percentile(50) == 0.001
    assert _of(0.002).percentile(50) == 0.002
    assert _of(0.0025).percentile(50) == 0.002  # round half to even
    assert _of(1.234).percentile(50) == 1.234  # exact below 2,048 ms
    assert _of(123.456).percentile(100) == 123.519  # 3 significant digits above
    # a bucket 64 ms wide: percentile 0 is its lowest value, any other its highest
    assert (_of(123.5).percentile(0), _of(123.5).percentile(1)) == (123.456, 123.519)


def test_max_and_mean_are_rounded_to_the_millisecond() -> None:
    s = _of(1.23456, 2.0).summary()
    assert s["max"] == 2.0 and s["mean"] == 1.617
    assert _of(0.0004).summary()["max"] == 0.0
    assert _of(7.0006).summary()["max"] == 7.001


def test_durations_out_of_range_are_clamped_and_the_max_agrees() -> None:
    d = _of(-5.0)
    assert d.count == 1 and d.percentile(50) == 0.0 and d.summary()["max"] == 0.0
    huge = _of(1e10)  # beyond ~3 years of store time
    assert huge.count == 1
    assert huge.percentile(50) == 100059316.223  # 10**11 ms, 3 significant digits
    assert huge.summary()["max"] == 1e8


def test_merge_keeps_the_larger_max_from_either_side() -> None:
    a, b = _of(1.0, 3.0), _of(2.0, 9.5)
    a.merge(b)
    assert (a.count, a.summary()["max"], a.percentile(100)) == (4, 9.5, 9.503)
    b.merge(_of(0.5))
    assert b.summary()["max"] == 9.5 and b.count == 3
    empty = Distribution()
    empty.merge(_of(4.0))
    assert empty.summary()["max"] == 4.0


def test_encode_is_the_histogram_in_hdr_text_form() -> None:
    d = _of(0.001, 0.002, 0.003, 0.0015)
    decoded = HdrHistogram.decode(d.encode().encode())
    assert decoded.get_total_count() == 4
    assert decoded.get_value_at_percentile(50) == 2 and decoded.get_max_value() == 3


_seconds = st.lists(st.floats(0, 1e6, allow_nan=False), max_size=30)


@settings(max_examples=12, deadline=None)
@given(_seconds, _seconds)
def test_merging_histograms_equals_one_histogram_of_the_union(
    a: list[float], b: list[float]
) -> None:
    left, right, union = _of(*a), _of(*b), _of(*a, *b)
    left.merge(right)
    assert left.summary() == union.summary()
    assert [left.percentile(p) for p in (0, 33.3)] == [union.percentile(p) for p in (0, 33.3)]


@settings(max_examples=5, deadline=None)
@given(st.lists(st.floats(0, 1e8, allow_nan=False), min_size=1, max_size=40))
def test_figures_are_hdrhs_own(seconds: list[float]) -> None:
    d = _of(*seconds)
    h = d._h
    for p in (0, 0.1, 50, 99.9, 100, 150):
        assert d.percentile(p) == float(h.get_value_at_percentile(p)) / 1000.0
    assert d.summary()["mean"] == round(float(h.get_mean_value()) / 1000.0, 3)


def _boundaries() -> list[int]:
    """Every power of two up to the range's top, each with its neighbours, and the ends."""
    out = {0, 1, 2, 10**11 - 1, 10**11}
    for k in range(37):
        out |= {2**k - 1, 2**k, 2**k + 1}
    return sorted(v for v in out if 0 <= v <= 10**11)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 10**11), max_size=60))
def test_recording_in_one_pass_fills_the_buckets_hdrh_fills(extra: list[int]) -> None:
    from peakbench.measure.histogram import record_all

    values = _boundaries() + extra
    one_by_one, in_one_pass = HdrHistogram(1, 10**11, 3), HdrHistogram(1, 10**11, 3)
    for v in values:
        assert one_by_one.record_value(v)
    record_all(in_one_pass, values)
    n = one_by_one.counts_len
    assert list(in_one_pass.counts[:n]) == list(one_by_one.counts[:n])
    assert (in_one_pass.total_count, in_one_pass.min_value, in_one_pass.max_value) == (
        one_by_one.total_count,
        one_by_one.min_value,
        one_by_one.max_value,
    )
    assert in_one_pass.encode() == one_by_one.encode()


def test_a_distribution_read_between_records_counts_every_record() -> None:
    d = _of(1.0, 2.0)
    assert d.count == 2 and d.percentile(100) == 2.0
    d.record(3.0)  # recorded after a read: the next read has it
    assert d.count == 3 and d.summary() == _of(1.0, 2.0, 3.0).summary()
    assert d.percentile(100) == _of(3.0).percentile(100) == 3.001
