"""Unit tests for the streaming multipart/form-data parser (handlers/multipart.py)."""

from __future__ import annotations

import random

import pytest

from handlers.multipart import (
    MultipartError,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    boundary_from_content_type,
    parse_header_params,
)

BOUNDARY = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"


def encode(parts: list[tuple[str, str | None, bytes]], boundary: bytes = BOUNDARY) -> bytes:
    """Build a multipart body from (field name, filename or None, content)."""
    out = bytearray()
    for name, filename, content in parts:
        out += b"--" + boundary + b"\r\n"
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += b"--" + boundary + b"--\r\n"
    return bytes(out)


def collect(chunks: list[bytes], boundary: bytes = BOUNDARY) -> list[tuple[PartStart, bytes]]:
    """Feed ``chunks`` and return each part with its reassembled content."""
    parser = MultipartParser(boundary)
    parts: list[tuple[PartStart, bytearray]] = []
    open_part = False
    for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, PartStart):
                assert not open_part
                parts.append((event, bytearray()))
                open_part = True
            elif isinstance(event, PartData):
                assert open_part and event.data
                parts[-1][1].extend(event.data)
            else:
                assert isinstance(event, PartEnd) and open_part
                open_part = False
    parser.close()
    assert parser.done and not open_part
    return [(start, bytes(data)) for start, data in parts]


def test_several_files_and_a_field_are_split_into_parts_with_names_and_filenames():
    body = encode(
        [("title", None, b"hello"), ("a", "a.txt", b"AAA"), ("b", "b.bin", b"\x00\x01\x02")]
    )
    parts = collect([body])
    assert [(p.name, p.filename, data) for p, data in parts] == [
        ("title", None, b"hello"),
        ("a", "a.txt", b"AAA"),
        ("b", "b.bin", b"\x00\x01\x02"),
    ]
    assert parts[1][0].content_type == "application/octet-stream"
    assert parts[0][0].content_type == "text/plain"


def test_random_binary_files_come_out_byte_exact_whatever_the_chunk_size():
    rng = random.Random(1234)
    files = [rng.randbytes(n) for n in (0, 1, 70, 4096, 200_000)]
    body = encode([(f"f{i}", f"f{i}.bin", data) for i, data in enumerate(files)])
    for size in (1, 7, 64, 1000, 65536, len(body)):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        assert [data for _, data in collect(chunks)] == files


def test_data_containing_boundary_prefixes_and_crlf_dashes_is_kept_intact():
    tricky = (
        b"\r\n--"
        + BOUNDARY[:-1]
        + b"\r\n--\r\n\r\n--"
        + b"--"
        + BOUNDARY
        + b"x\r\n"
        + b"\r"
        + b"\r\n-"
        + b"\r\n--"
        + BOUNDARY[:10]
    )
    body = encode([("f", "t.bin", tricky), ("g", "u.bin", b"--" + BOUNDARY + b"\r")])
    for size in (1, 3, len(BOUNDARY), len(body)):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        assert [data for _, data in collect(chunks)] == [tricky, b"--" + BOUNDARY + b"\r"]


def test_a_body_split_into_two_feeds_at_every_offset_parses_identically():
    body = encode([("a", "a.txt", b"first\r\n--almost"), ("b", "b.txt", b"\r\nsecond\r")])
    expected = collect([body])
    for split in range(len(body) + 1):
        assert collect([body[:split], body[split:]]) == expected, split


def test_a_body_split_into_three_feeds_around_every_delimiter_offset_parses_identically():
    body = encode([("a", "a.txt", b"x" * 50), ("b", "b.txt", b"y" * 50)])
    expected = collect([body])
    start = body.index(b"\r\n--" + BOUNDARY, 10)
    for i in range(start - 2, start + len(BOUNDARY) + 8):
        for j in range(i, start + len(BOUNDARY) + 10):
            assert collect([body[:i], body[i:j], body[j:]]) == expected, (i, j)


def test_preamble_epilogue_and_transport_padding_are_ignored():
    body = (
        b"this is a preamble\r\n--" + BOUNDARY + b"  \t\r\n"
        b'Content-Disposition: form-data; name="a"; filename="a.txt"\r\n\r\n'
        b"content\r\n--" + BOUNDARY + b"--\r\nepilogue --" + BOUNDARY + b"\r\n"
    )
    assert [data for _, data in collect([body])] == [b"content"]


def test_a_part_with_empty_content_is_reported():
    body = encode([("a", "empty.txt", b"")])
    parts = collect([body])
    assert len(parts) == 1 and parts[0][0].filename == "empty.txt" and parts[0][1] == b""


def test_a_form_with_no_parts_at_all_is_valid():
    assert collect([b"--" + BOUNDARY + b"--\r\n"]) == []


def test_all_part_data_but_a_possible_delimiter_prefix_is_emitted_at_once():
    parser = MultipartParser(BOUNDARY)
    parser.feed(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\n')
    fed = emitted = 0
    for tail in (b"", b"\r", b"\r\n--" + BOUNDARY[:5], b"\r\n--" + BOUNDARY[:-1], b"\rx"):
        chunk = b"z" * 10_000 + tail
        fed += len(chunk)
        for event in parser.feed(chunk):
            assert isinstance(event, PartData)
            emitted += len(event.data)
        held = fed - emitted
        # held back: exactly the tail when it could start the delimiter, else nothing
        assert held == (len(tail) if (b"\r\n--" + BOUNDARY).startswith(tail) else 0)


def test_filename_star_is_decoded_and_preferred_over_filename():
    body = (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="f"; filename="fallback.txt"; '
        b"filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    )
    assert collect([body])[0][0].filename == "\u20ac rates.txt"


def test_raw_utf8_filenames_and_escaped_quotes_are_decoded():
    body = (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="f"; filename="caf\xc3\xa9 \\"q\\".txt"'
        b"\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    )
    assert collect([body])[0][0].filename == 'caf\u00e9 "q".txt'


def test_filenames_that_are_not_utf8_are_read_as_latin1():
    body = (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="f"; filename="caf\xe9.txt"'
        b"\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    )
    assert collect([body])[0][0].filename == "caf\u00e9.txt"


def test_windows_paths_keep_their_backslashes_for_the_sanitiser():
    body = (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="f"; filename="C:\\Users\\me\\a.txt"'
        b"\r\n\r\nx\r\n--" + BOUNDARY + b"--"
    )
    assert collect([body])[0][0].filename == "C:\\Users\\me\\a.txt"


def test_a_part_without_headers_is_rejected_for_lacking_content_disposition():
    body = b"--" + BOUNDARY + b"\r\n\r\ndata\r\n--" + BOUNDARY + b"--"
    with pytest.raises(MultipartError, match="Content-Disposition"):
        collect([body])


@pytest.mark.parametrize(
    "body",
    [
        # truncated: no closing delimiter
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\ndata',
        # nothing but a preamble
        b"no boundary here at all",
        # garbage after a delimiter
        b"--" + BOUNDARY + b"garbage\r\n",
        # header line without a colon
        b"--" + BOUNDARY + b"\r\nContent-Disposition form-data\r\n\r\nx\r\n--" + BOUNDARY + b"--",
        # header folding
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nx\r\n--'
        + BOUNDARY
        + b"--",
        # wrong disposition type
        b"--" + BOUNDARY + b"\r\nContent-Disposition: attachment\r\n\r\nx\r\n--" + BOUNDARY + b"--",
        # unterminated quoted parameter
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="a\r\n\r\nx\r\n--'
        + BOUNDARY
        + b"--",
    ],
)
def test_malformed_bodies_raise_multipart_error(body):
    with pytest.raises(MultipartError):
        collect([body])


def test_oversized_part_headers_are_rejected_before_the_block_ends():
    parser = MultipartParser(BOUNDARY, max_header_size=1024)
    parser.feed(b"--" + BOUNDARY + b"\r\n")
    with pytest.raises(MultipartError, match="too large"):
        parser.feed(b"X-Long: " + b"a" * 2000)


def test_too_many_parts_are_rejected():
    body = encode([(f"f{i}", None, b"") for i in range(5)])
    parser = MultipartParser(BOUNDARY, max_parts=4)
    with pytest.raises(MultipartError, match="too many parts"):
        parser.feed(body)


def test_a_failed_parser_refuses_more_input():
    parser = MultipartParser(BOUNDARY)
    with pytest.raises(MultipartError):
        parser.feed(b"--" + BOUNDARY + b"junk\r\n")
    with pytest.raises(MultipartError):
        parser.feed(b"more")


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('multipart/form-data; boundary="a b:c"', b"a b:c"),
        ("Multipart/Form-Data;boundary=xyz; charset=utf-8", b"xyz"),
        ("multipart/form-data; charset=utf-8; boundary=" + "b" * 70, b"b" * 70),
    ],
)
def test_boundaries_are_read_from_the_content_type(content_type, boundary):
    assert boundary_from_content_type(content_type) == boundary


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "b" * 71,
        'multipart/form-data; boundary="ends with space "',
        'multipart/form-data; boundary="bad\\"quote"',
        "multipart/form-data; boundary=a@b",
        'multipart/form-data; boundary="unterminated',
    ],
)
def test_invalid_boundaries_are_rejected(content_type):
    with pytest.raises(MultipartError):
        boundary_from_content_type(content_type)


def test_header_parameters_are_case_insensitive_and_first_occurrence_wins():
    main, params = parse_header_params('Form-Data; NAME="a"; name=b; filename="x;y.txt";')
    assert main == "form-data"
    assert params == {"name": "a", "filename": "x;y.txt"}
