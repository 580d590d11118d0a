"""Range parsing and conditional-request evaluation used by the static handler."""

import pytest

from framework.http.headers import Headers
from handlers.conditional import evaluate, http_date, make_etag, parse_http_date, range_allowed
from handlers.ranges import MAX_RANGES, parse_range


@pytest.mark.parametrize(
    ("header", "offset", "length"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=0-99", 0, 100),
        ("bytes=10-", 10, 90),
        ("bytes=-10", 90, 10),
        ("bytes=-1000", 0, 100),
        ("bytes=90-1000", 90, 10),
        ("Bytes=5-9", 5, 5),
        ("bytes= 5-9 ", 5, 5),
        ("bytes=5-9, 200-300", 5, 5),
        ("bytes=5-9,", 5, 5),
    ],
)
def test_one_satisfiable_range_is_partial(header, offset, length):
    decision = parse_range(header, 100)
    assert (decision.kind, decision.offset, decision.length) == ("partial", offset, length)


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=500-,600-"])
def test_no_satisfiable_range_is_416(header):
    assert parse_range(header, 100).kind == "unsatisfiable"


def test_any_range_of_an_empty_file_is_unsatisfiable():
    assert parse_range("bytes=0-", 0).kind == "unsatisfiable"
    assert parse_range("bytes=-5", 0).kind == "unsatisfiable"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=5",
        "bytes=9-5",
        "bytes=+5-9",
        "bytes=1_0-20",
        "bytes =5-9",
        "bytes=--5",
        "items=0-5",
        "bytes",
        "bytes=-",
        "bytes=٣-٤",
    ],
)
def test_syntactically_bad_range_is_ignored(header):
    assert parse_range(header, 100).kind == "full"


def test_several_satisfiable_ranges_are_served_in_full():
    assert parse_range("bytes=0-1,5-6", 100).kind == "full"


def test_range_count_is_capped_and_the_header_ignored_beyond_it():
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1))
    assert parse_range(many, 1000).kind == "full"


def test_huge_range_header_is_handled_in_linear_time():
    header = "bytes=" + "0-0," * 200_000
    assert parse_range(header, 10).kind == "full"


ETAG = make_etag(1_700_000_000_123_456_789, 1234)
MTIME = 1_700_000_000


def test_etag_is_a_quoted_strong_validator_that_changes_with_mtime_and_size():
    assert ETAG.startswith('"') and ETAG.endswith('"')
    assert make_etag(1, 2) != make_etag(1, 3) != make_etag(2, 3)


def test_http_date_round_trips():
    text = http_date(MTIME)
    assert text == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert parse_http_date(text) == MTIME
    assert parse_http_date("not a date") is None


@pytest.mark.parametrize(
    ("headers", "method", "expected"),
    [
        ({}, "GET", None),
        ({"If-None-Match": ETAG}, "GET", 304),
        ({"If-None-Match": f'"other", {ETAG}'}, "HEAD", 304),
        ({"If-None-Match": f"W/{ETAG}"}, "GET", 304),
        ({"If-None-Match": "*"}, "GET", 304),
        ({"If-None-Match": '"other"'}, "GET", None),
        ({"If-Modified-Since": http_date(MTIME)}, "GET", 304),
        ({"If-Modified-Since": http_date(MTIME + 60)}, "GET", 304),
        ({"If-Modified-Since": http_date(MTIME - 60)}, "GET", None),
        ({"If-Modified-Since": "garbage"}, "GET", None),
        # If-None-Match takes precedence over If-Modified-Since
        ({"If-None-Match": '"other"', "If-Modified-Since": http_date(MTIME)}, "GET", None),
        ({"If-Match": '"other"'}, "GET", 412),
        ({"If-Match": ETAG}, "GET", None),
        ({"If-Unmodified-Since": http_date(MTIME - 60)}, "GET", 412),
        ({"If-None-Match": ETAG}, "DELETE", 412),
    ],
)
def test_conditional_evaluation(headers, method, expected):
    assert evaluate(Headers(headers), ETAG, MTIME, method) == expected


def test_if_range_must_match_exactly_to_allow_a_partial_response():
    lm = http_date(MTIME)
    assert range_allowed(Headers(), ETAG, lm)
    assert range_allowed(Headers({"If-Range": ETAG}), ETAG, lm)
    assert range_allowed(Headers({"If-Range": lm}), ETAG, lm)
    assert not range_allowed(Headers({"If-Range": '"old"'}), ETAG, lm)
    assert not range_allowed(Headers({"If-Range": f"W/{ETAG}"}), ETAG, lm)
    assert not range_allowed(Headers({"If-Range": http_date(MTIME - 1)}), ETAG, lm)
