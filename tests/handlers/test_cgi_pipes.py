"""Reading a script's stdout and stderr pipes through the loop."""

from __future__ import annotations

import asyncio
import os

from handlers.cgi_pipes import PipeReader, StderrLog


class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def error(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)

    def debug(self, msg: str, *args: object) -> None:
        pass


def test_stderr_is_logged_by_line_and_capped_but_always_drained():
    async def main() -> ListLog:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        log = ListLog()
        reader = StderrLog(loop, r, log, "cgi /x", max_bytes=1000)
        payload = b"".join(b"line %d\n" % i for i in range(20000))  # ~150 KB > a pipe buffer
        view = memoryview(payload)
        while view:  # only completes if the reader keeps draining past the cap
            try:
                view = view[os.write(w, view) :]
            except BlockingIOError:
                await asyncio.sleep(0)  # let the loop run the reader
        os.close(w)
        reader.close()
        return log

    log = asyncio.run(asyncio.wait_for(main(), 10))
    assert log.lines[0] == "cgi /x: line 0"
    assert log.lines[-1] == "cgi /x: stderr truncated"
    assert sum(len(line) for line in log.lines) < 2000


def test_stderr_already_in_the_pipe_is_logged_on_close():
    async def main() -> ListLog:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        log = ListLog()
        reader = StderrLog(loop, r, log, "cgi /x")
        os.write(w, b"last words\nno newline")
        reader.close()  # before the loop ever ran the reader
        os.close(w)
        return log

    assert asyncio.run(main()).lines == ["cgi /x: last words", "cgi /x: no newline"]


def test_pipe_reader_returns_data_then_eof():
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r, high_water=8, low_water=4)
        os.write(w, b"hello world")
        os.close(w)
        out = []
        while chunk := await reader.read():
            out.append(chunk)
        reader.close()
        return out

    assert b"".join(asyncio.run(main())) == b"hello world"


def test_pipe_reader_close_wakes_a_waiting_reader():
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r)
        loop.call_soon(reader.close)
        data = await reader.read()
        os.close(w)
        return data

    assert asyncio.run(main()) == b""
