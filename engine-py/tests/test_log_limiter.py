from __future__ import annotations

from wgp_bridge.log_limiter import LogLimiter, LogLimits, dropped_note


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_lines_are_dropped_and_counted_until_tokens_return() -> None:
    clock = FakeClock()
    limiter = LogLimiter(LogLimits(lines_per_s=10, burst=3, max_line_chars=100), clock)

    assert [limiter.admit(f"l{i}") for i in range(3)] == [(0, "l0"), (0, "l1"), (0, "l2")]
    assert [limiter.admit("x") for _ in range(5)] == [(0, None)] * 5
    clock.now = 0.1  # one token back
    assert limiter.admit("back") == (5, "back")
    assert limiter.admit("again") == (0, None)
    assert limiter.take_dropped() == 1
    assert limiter.take_dropped() == 0


def test_long_lines_are_cut_with_a_note() -> None:
    limiter = LogLimiter(LogLimits(lines_per_s=10, burst=3, max_line_chars=5))
    assert limiter.admit("abcdefgh") == (0, "abcde … [3 characters cut]")


def test_the_dropped_note_reads_well() -> None:
    assert dropped_note(1) == "1 line dropped (log rate limit)"
    assert dropped_note(42) == "42 lines dropped (log rate limit)"
