"""Issue 19, groups 3, 6, 7, 9 and 10 for `catalog refresh`: an AWS endpoint that answers too
much, too slowly, garbage or absurd prices fails with exit 5 (bad options: 2), in bounded
memory and time, never echoing its control characters, never writing the catalog
(docs/hardening.md). Real HTTP servers on 127.0.0.1 stand in for a faulty EC2 endpoint."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import derived_item, no_retry_sleep, run_cli, set_fake_env

from scaleplan.catalog import aws, prices
from scaleplan.catalog.files import read_catalog_file, shipped_paths
from scaleplan.catalog.model import InstanceRow

SHIPPED_AWS = shipped_paths()[0]


@contextmanager
def ec2(reply: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with suppress(BrokenPipeError, ConnectionResetError):
                reply(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "text/xml") -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def existing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    set_fake_env(monkeypatch, tmp_path)
    no_retry_sleep(monkeypatch)
    p = tmp_path / "aws.yaml"
    shutil.copyfile(SHIPPED_AWS, p)
    return p


def _refresh(url: str, out: Path, code: int) -> Any:
    raw = out.read_bytes()
    res = run_cli(["catalog", "refresh", "--regions", "us-east-1", "--out", str(out), "--endpoint-url", url, "--max-attempts", "1"], exit_code=code)
    assert out.read_bytes() == raw
    return res


def test_endless_ec2_reply_is_cut_off(existing: Path) -> None:
    """An endless EC2 response got `catalog refresh` OOM-killed at 15 GB."""

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/xml")
        h.end_headers()
        chunk = b"<a>" + b"x" * (1 << 20) + b"</a>"
        while True:
            h.wfile.write(chunk)

    with ec2(endless) as url:
        res = _refresh(url, existing, 5)
    assert "larger than 256 MiB" in res.stderr


def test_dripping_ec2_reply_hits_the_deadline(existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint dripping one byte every 5 s ran for 400 s+ with --max-attempts 1."""
    monkeypatch.setattr(aws, "CALL_DEADLINE_S", 2.0)  # 120 s in real use; the mechanism is the same

    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/xml")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.5)

    t0 = time.monotonic()
    with ec2(drip) as url:
        res = _refresh(url, existing, 5)
    assert "longer than 2 s" in res.stderr
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"this is not XML at all", "text/xml"), (b"<?xml version='1.0'?><DescribeInstanceTypesResponse>\xff\xfe\x80</DescribeInstanceTypesResponse>", "text/xml")],
    ids=["not-xml", "not-utf8"],
)
def test_unreadable_ec2_replies_exit_5(existing: Path, body: bytes, ctype: str) -> None:
    with ec2(lambda h: _send(h, 200, body, ctype)) as url:
        res = _refresh(url, existing, 5)
    assert "Traceback" not in res.stderr


def test_server_error_message_escape_sequences_are_not_echoed(existing: Path) -> None:
    """refresh echoed ESC/OSC sequences from a server's error message."""
    msg = "bad \x1b]0;pwned\x07\x1b[2J thing"
    body = f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>InvalidParameterValue</Code><Message>{msg}</Message></Error></Errors><RequestID>x</RequestID></Response>".encode()
    with ec2(lambda h: _send(h, 400, body)) as url:
        res = _refresh(url, existing, 5)
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr


def test_client_error_message_escape_sequences_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """The same through a well-formed error reply (JSON APIs such as Pricing can carry ESC)."""
    import typer
    from botocore.exceptions import ClientError

    from scaleplan.cli._common import handle_errors

    exc = ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "bad \x1b]0;pwned\x07\x1b[2J thing"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetProducts")
    with pytest.raises(typer.Exit) as info, handle_errors():
        raise aws.translate_error(exc, "Pricing GetProducts (us-east-1, page 1)")
    err = capsys.readouterr().err
    assert info.value.exit_code == 5
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;pwned" in err


def test_endpoint_url_that_is_not_a_url_is_usage_error(existing: Path) -> None:
    """`--endpoint-url notaurl` gave exit 70."""
    res = run_cli(["catalog", "refresh", "--regions", "us-east-1", "--out", str(existing), "--endpoint-url", "notaurl"], exit_code=2)
    assert "--endpoint-url" in res.stderr


def test_bad_credential_process_expiry_exits_5(existing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A credential_process whose Expiration is not a date gave exit 70."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    script = tmp_path / "creds.sh"
    script.write_text('#!/bin/sh\necho \'{"Version": 1, "AccessKeyId": "AKIAFAKEFAKEFAKE0000", "SecretAccessKey": "x", "SessionToken": "y", "Expiration": "not-a-date"}\'\n')
    script.chmod(0o755)
    cfg = tmp_path / "config"
    cfg.write_text(f"[profile broken]\ncredential_process = {script}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    res = run_cli(["catalog", "refresh", "--regions", "us-east-1", "--out", str(existing), "--aws-profile", "broken", "--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1"], exit_code=5)
    assert "credential" in res.stderr


@pytest.mark.parametrize("usd", ["1_000", "1e300", " 1 ", "inf", "-1"])
def test_price_strings_python_reads_but_aws_never_sends_are_refused(usd: str) -> None:
    """`"1_000"` was read as 1000 and `1e300` written to the catalog."""
    text = derived_item("g5.xlarge", "us-east-1", 1.006).replace('"1.0060000000"', f'"{usd}"')
    assert usd in text
    with pytest.raises(prices.MalformedPrice):
        prices.parse_price_item(text)


def _row(price: float, itype: str = "g5.xlarge") -> InstanceRow:
    return InstanceRow(provider="aws", region="us-east-1", instance_type=itype, family="g5", accelerator="A10G", accelerator_count=1, vcpus=4, memory_gib=16, price_ondemand=price)


@pytest.mark.parametrize("price", [1e-300, 0.0, 1006.0, 0.001], ids=["1e-300", "zero", "100x-up", "100x-down"])
def test_refreshed_prices_are_checked_against_the_current_catalog(price: float) -> None:
    """Refreshed prices 1e300 and 1e-300 were written to the catalog."""
    bad = prices.implausible_prices([_row(price)], [_row(1.006)])
    assert len(bad) == 1 and "us-east-1 g5.xlarge price_ondemand" in bad[0]
    assert prices.implausible_prices([_row(1.2)], [_row(1.006)]) == []


def test_refresh_keeps_catalog_valid(existing: Path) -> None:
    assert read_catalog_file(existing).instances
