"""Helpers for the AWS refresh tests: a moto server, a fault-injecting HTTP proxy in front of
it, and botocore-Stubber Price List clients built from the real samples in tests/data/aws/."""

from __future__ import annotations

import copy
import hashlib
import http.client
import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parent / "data" / "aws"

# Test prices (USD/h) per instance type; NOT AWS prices.
TEST_PRICES: dict[str, float] = {
    "g4dn.xlarge": 0.526,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g6.xlarge": 0.8048,
    "g6e.xlarge": 1.861,
    "p5.48xlarge": 55.04,
    "p5en.48xlarge": 63.296,
    "p4de.24xlarge": 40.966,
    "inf2.xlarge": 0.7582,
    "c7i.large": 0.08925,
    "m7g.large": 0.0816,
    "m5.large": 0.096,  # not a tracked family: must be ignored
}


# ------------------------------------------------------------------------------------------
# Price List items


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def derived_item(instance_type: str, region: str, price: float) -> str:
    """A GetProducts PriceList string shaped exactly like the real m5.large item."""
    item = copy.deepcopy(_load("get_products_item_m5.large_us-east-1.json"))
    old_sku = item["product"]["sku"]
    sku = "T" + hashlib.sha256(f"{instance_type}|{region}".encode()).hexdigest()[:15].upper()
    attrs = item["product"]["attributes"]
    attrs["instanceType"] = instance_type
    attrs["usagetype"] = f"BoxUsage:{instance_type}"
    attrs["regionCode"] = region
    item["product"]["sku"] = sku
    text = json.dumps(item)
    text = text.replace(old_sku, sku)
    item = json.loads(text)
    for term in item["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = f"{price:.10f}"
    return json.dumps(item, separators=(",", ":"))


def p4d_items() -> list[str]:
    """The two real p4d.24xlarge SKUs (On-Demand and Capacity Block) as GetProducts items."""
    offer = _load("offer_file_excerpt_us-east-1_p4d.24xlarge.json")
    out = []
    for sku, product in offer["products"].items():
        item = {"product": product, "serviceCode": "AmazonEC2", "terms": {"OnDemand": offer["terms"]["OnDemand"][sku]}, "version": offer["version"], "publicationDate": offer["publicationDate"]}
        out.append(json.dumps(item, separators=(",", ":")))
    return out


def ebs_item() -> str:
    ex = _load("botocore_pricing_2017-10-15_examples-1.json")
    return str(ex["examples"]["GetProducts"][0]["output"]["PriceList"][0])


def price_list(region: str, prices: dict[str, float] | None = None) -> list[str]:
    items = [derived_item(t, region, p) for t, p in sorted((prices or TEST_PRICES).items())]
    if region == "us-east-1":
        items += p4d_items()
    items.append(ebs_item())
    return items


def pricing_filters(region: str) -> list[dict[str, str]]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
        {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
        {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
        {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
    ]


def stubbed_pricing(pages_by_region: Sequence[tuple[str, list[list[str]]]], *, strict: bool = True) -> Any:
    """A real botocore pricing client whose GetProducts answers come from a Stubber, page by
    page, with the exact request parameters checked."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.Session(aws_access_key_id="stub", aws_secret_access_key="stub").client("pricing", region_name="us-east-1")
    stub = Stubber(client)
    for region, pages in pages_by_region:
        for i, page in enumerate(pages):
            resp: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
            if i + 1 < len(pages):
                resp["NextToken"] = f"{region}-page-{i + 2}"
            expected: dict[str, Any] = {"ServiceCode": "AmazonEC2", "Filters": pricing_filters(region), "FormatVersion": "aws_v1", "MaxResults": 100}
            if i > 0:
                expected["NextToken"] = f"{region}-page-{i + 1}"
            stub.add_response("get_products", resp, expected if strict else None)
    stub.activate()
    client._scaleplan_stubber = stub
    return client


def paged(items: list[str], size: int = 4) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ------------------------------------------------------------------------------------------
# A fault-injecting proxy in front of moto


@dataclass
class Rules:
    """What the proxy does; mutate between tests (``reset()``)."""

    paginate_types: int | None = None  # page size for DescribeInstanceTypes (moto returns one page)
    throttle: dict[str, int] = field(default_factory=dict)  # action -> how many requests to throttle
    throttle_code: str = "RequestLimitExceeded"
    drop: dict[tuple[str, int], int] = field(default_factory=dict)  # (action, page) -> drops left
    error: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # action -> (status, code, message)
    seen: list[tuple[str, int]] = field(default_factory=list)  # (action, page) of every request

    def reset(self) -> None:
        self.paginate_types = None
        self.throttle.clear()
        self.drop.clear()
        self.error.clear()
        self.seen.clear()


def _error_xml(code: str, message: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>'.encode()


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.rules = Rules()
        self.cache: dict[tuple[str, str, int], tuple[int, list[bytes], str]] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "text/xml") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        params = parse_qs(body.decode())
        action = params.get("Action", [""])[0]
        token = params.get("NextToken", [""])[0]
        page = int(token.removeprefix("page-")) if token.startswith("page-") else 1
        with self.lock:
            r = self.rules
            r.seen.append((action, page))
            if r.drop.get((action, page), 0) > 0:
                r.drop[(action, page)] -= 1
                drop = True
            else:
                drop = False
            throttle = r.throttle.get(action, 0) > 0
            if throttle:
                r.throttle[action] -= 1
            err = r.error.get(action)
            size = r.paginate_types if action == "DescribeInstanceTypes" else None
        if drop:  # kill the connection without an answer
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if throttle:
            self._send(h, 503 if self.rules.throttle_code == "RequestLimitExceeded" else 400, _error_xml(self.rules.throttle_code, "Request limit exceeded."))
            return
        if err is not None:
            self._send(h, err[0], _error_xml(err[1], err[2]))
            return
        if size:
            # Serve every page from one upstream answer, as a paginating server would.
            scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/", h.headers.get("Authorization", ""))
            key = (scope.group(1) if scope else "", re.sub(r"&?(NextToken|MaxResults)=[^&]*", "", body.decode()))
            with self.lock:
                cached = self.cache.get((*key, size))
            if cached is None:
                status, data, ctype = self._forward(h, body)
                pages = self._split(data, size) if status == 200 else [data]
                cached = (status, pages, ctype)
                with self.lock:
                    self.cache[(*key, size)] = cached
            status, pages, ctype = cached
            data = pages[min(page, len(pages)) - 1]
        else:
            status, data, ctype = self._forward(h, body)
        self._send(h, status, data, ctype)

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port or 80, timeout=60)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        conn.request("POST", h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        ctype = resp.getheader("Content-Type", "text/xml")
        conn.close()
        return resp.status, data, ctype

    @staticmethod
    def _split(data: bytes, size: int) -> list[bytes]:
        """moto's one-page answer cut into pages of ``size`` items, linked by nextToken."""
        root = ET.fromstring(data)
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        ET.register_namespace("", ns.strip("{}"))
        item_set = root.find(f"{ns}instanceTypeSet")
        assert item_set is not None, data[:200]
        items = list(item_set)
        pages = []
        for start in range(0, max(len(items), 1), size):
            for it in list(item_set):
                item_set.remove(it)
            item_set.extend(items[start : start + size])
            for tok in root.findall(f"{ns}nextToken"):
                root.remove(tok)
            if start + size < len(items):
                ET.SubElement(root, f"{ns}nextToken").text = f"page-{start // size + 2}"
            pages.append(ET.tostring(root, encoding="utf-8", xml_declaration=True))
        return pages


# ------------------------------------------------------------------------------------------
# Servers


def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-do-not-print-0123456789",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
CRED_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def set_fake_env(monkeypatch: Any, tmp_path: Path) -> None:
    for v in CRED_VARS:
        monkeypatch.delenv(v, raising=False)
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)


def no_retry_sleep(monkeypatch: Any) -> None:
    """Keep botocore's retries but skip their back-off sleeps (tests stay fast)."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def cli_app() -> Any:
    """A root app with a ``catalog`` group carrying ``refresh``, attached the way
    scaleplan/cli/catalog.py does it."""
    import typer

    from scaleplan.cli.catalog import refresh

    root = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    catalog_app = typer.Typer()
    catalog_app.command("refresh")(refresh)

    @catalog_app.callback()
    def _cb() -> None:
        """catalog"""

    root.add_typer(catalog_app, name="catalog")

    @root.callback()
    def _root() -> None:
        """root"""

    return root


def run_cli(args: list[str], exit_code: int | None = 0) -> Any:
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli_app(), args, catch_exceptions=False)
    if exit_code is not None and result.exit_code != exit_code:
        raise AssertionError(f"exit {result.exit_code}, expected {exit_code}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    return result
