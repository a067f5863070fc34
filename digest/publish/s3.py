"""Publish adapter for ``s3://bucket/prefix`` on AWS or any S3-compatible store.

Credentials come from boto3's standard chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, ``~/.aws/...``, instance roles); digest never reads or prints them.
``--endpoint-url`` (or ``AWS_ENDPOINT_URL``) points at R2, MinIO, SeaweedFS and the like.

What is already there is read with one paginated listing. An object whose ETag is a
plain MD5 is compared with the local file's MD5; for any other ETag (multipart
uploads, some encryption modes) the MD5 digest stored in the object's metadata at
upload (``x-amz-meta-digest-md5``) is read with a HEAD request. Every object is sent
with its ``Content-Type`` and ``Cache-Control``; uploads run in parallel within each
step of the safe order (see `digest.publish.common.order_uploads`), deletes last.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from urllib.parse import urlsplit

from digest.mediatypes import content_type
from digest.publish.common import (
    LocalFile,
    Options,
    Progress,
    PublishError,
    PublishPlan,
    Upload,
    cache_control,
    decide,
    is_page,
    redact,
    shown,
)

MD5_META = "digest-md5"
"""Object metadata key holding the MD5 hex of the bytes."""

MAX_KEY_BYTES = 1024
"""Longest S3 object key (UTF-8 bytes); a longer one failed halfway through the uploads."""

_PLAIN_MD5 = re.compile(r'^"?([0-9a-f]{32})"?$')


def _boto3():
    try:
        import boto3
        import botocore
    except ImportError:
        raise PublishError(
            "s3:// targets need boto3, an optional dependency: pip install 'digest[s3]'") from None
    return boto3, botocore


def _check_endpoint(url: str) -> None:
    """``--endpoint-url`` must be an http(s) URL without credentials (botocore printed the whole
    endpoint in its connection errors, and raised ValueError, a traceback, on one without a
    scheme such as ``localhost:9000``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname \
            or not url.isprintable():
        raise PublishError(f"--endpoint-url {shown(redact(url))}: expected an http(s) URL such as "
                           "http://127.0.0.1:9000")
    if "@" in parts.netloc:
        raise PublishError(f"--endpoint-url {redact(url)}: credentials do not go in the endpoint URL; "
                           "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # (os.walk decodes such bytes to lone surrogates)
        return False
    return True


class S3Target:
    """A bucket, or a prefix in one."""

    def __init__(self, url: str, options: Options):
        # Read as the AWS CLI reads it: bucket, then the prefix literally (`#`, `?`, `%` and
        # spaces are characters of a key; a URL parser cut the prefix at `#` or `?`).
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket or not url.lower().startswith("s3://"):
            raise PublishError("s3:// target needs a bucket, e.g. s3://my-bucket/site")
        if "@" in bucket:
            raise PublishError(f"{redact(url)}: an s3:// target holds no credentials; they "
                               "come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws/")
        if options.endpoint_url:
            _check_endpoint(options.endpoint_url)
        self.bucket = bucket
        # (a leading / is an empty part: `s3://b//site` went to `site/`, `s3://b//` to the bucket)
        empty_first = prefix.startswith("/")
        prefix = prefix.rstrip("/")
        if empty_first or (prefix and any(part in ("", ".", "..") for part in prefix.split("/"))):
            # S3-compatible stores (SeaweedFS, MinIO) and CDNs read keys as paths: `../x` or
            # `a//b` land beside the prefix, where its listing never finds them.
            raise PublishError(f"{shown(url)}: the prefix has an empty, '.' or '..' part; write it "
                               "as plain folder names, e.g. s3://bucket/news/site")
        self.prefix = f"{prefix}/" if prefix else ""
        self.label = shown(f"s3://{self.bucket}/{self.prefix}")
        boto3, botocore = _boto3()
        self._botocore = botocore
        # "standard" retry mode: throttling, 5xx and connection errors are retried up to
        # 6 attempts with jittered exponential backoff, for every call.
        config = botocore.config.Config(
            retries={"max_attempts": 6, "mode": "standard"},
            max_pool_connections=max(options.jobs, 1) + 2,
            connect_timeout=10, read_timeout=60)
        try:
            self.client = boto3.session.Session().client(
                "s3", endpoint_url=options.endpoint_url, config=config)
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            raise PublishError(f"cannot set up S3 client: {shown(exc)}") from None
        self.jobs = max(options.jobs, 1)
        # An endpoint from the environment (AWS_ENDPOINT_URL) or ~/.aws/config holding user-info
        # is refused as --endpoint-url is: botocore quoted it in its errors as it parsed it, and
        # a password holding `@` and `#` was cut there (`p@ss#wd` printed `ss`).
        raw = self.client.meta.endpoint_url or ""
        if "@" in raw:
            self.client.close()
            where = "--endpoint-url" if options.endpoint_url else "from AWS_ENDPOINT_URL or the AWS config"
            raise PublishError(f"the S3 endpoint {shown(redact(raw))} ({where}) holds a user name or password; "
                               "credentials do not go in the endpoint URL: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY")

    # -- reading ------------------------------------------------------------------------------

    def _call(self, what: str, action):
        try:
            return action()  # botocore retries transient faults itself (see __init__)
        except self._botocore.exceptions.NoCredentialsError:
            raise PublishError(
                f"{self.label}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)") from None
        except (self._botocore.exceptions.BotoCoreError,
                self._botocore.exceptions.ClientError) as exc:
            raise PublishError(f"{self.label}: {what} failed: {exc}") from None

    def _remote(self) -> dict[str, str | None]:
        """Keys under the prefix -> MD5 hex (``None``: the ETag is not a plain MD5)."""
        found: dict[str, str | None] = {}

        def pages():
            paginator = self.client.get_paginator("list_objects_v2")
            return list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix))

        for page in self._call("listing the bucket", pages):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix):]
                if not key or key.endswith("/"):
                    continue
                match = _PLAIN_MD5.match(item.get("ETag", ""))
                found[key] = match.group(1) if match else None
        return found

    def _same(self, local: LocalFile, remote_md5: str | None) -> bool:
        if remote_md5 is not None:
            return remote_md5 == local.md5
        head = self._call("reading object metadata", lambda: self.client.head_object(
            Bucket=self.bucket, Key=self.prefix + local.path))
        return head.get("Metadata", {}).get(MD5_META) == local.md5

    def check(self, site, out) -> None:
        """Nothing to check before the files are known."""

    def plan(self, files: dict[str, LocalFile], options: Options) -> PublishPlan:
        # A key is UTF-8: a file name that is not (copied from static/) cannot be one. Said
        # before anything is sent (it raised UnicodeEncodeError halfway through the uploads).
        unsendable = [path for path in files if not _is_utf8(path)]
        if unsendable:
            raise PublishError(f"{self.label}: {len(unsendable)} file name(s) not UTF-8 cannot be "
                               f"S3 keys, e.g. {shown(unsendable[0])}; rename them (nothing was published)")
        too_long = [path for path in files if len((self.prefix + path).encode()) > MAX_KEY_BYTES]
        if too_long:
            raise PublishError(f"{self.label}: {len(too_long)} path(s) longer than the {MAX_KEY_BYTES} bytes "
                               f"of an S3 key, e.g. {shown(too_long[0][:80])}...; nothing was published")
        return decide(self.label, files, self._remote(), self._same, options)

    # -- writing ------------------------------------------------------------------------------

    def _put(self, local: LocalFile) -> None:
        data = local.source.read_bytes()
        self._call(f"uploading {local.path}", lambda: self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + local.path, Body=data,
            ContentType=content_type(local.path, data[:1024]),
            CacheControl=cache_control(local.path),
            Metadata={MD5_META: local.md5}))

    def _delete(self, paths: list[str]) -> None:
        for start in range(0, len(paths), 1000):
            batch = [{"Key": self.prefix + p} for p in paths[start:start + 1000]]
            reply = self._call("deleting stale objects", lambda b=batch: self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": b, "Quiet": True}))
            if reply.get("Errors"):
                first = reply["Errors"][0]
                raise PublishError(f"{self.label}: could not delete {len(reply['Errors'])} "
                                   f"objects, e.g. {first.get('Key')}: {first.get('Message')}")

    def apply(self, plan: PublishPlan, files: dict[str, LocalFile],
              progress: Progress | None) -> None:
        total = len(plan.uploads) + len(plan.deletes)
        done = 0

        def step(u: Upload) -> tuple[bool, bool]:
            return (u.new, is_page(u.path))

        pool = ThreadPoolExecutor(self.jobs)
        try:
            # Each step of the safe order finishes before the next starts.
            for _, group in groupby(plan.uploads, key=step):
                for _ in pool.map(lambda u: self._put(files[u.path]), list(group)):
                    done += 1
                    if progress:
                        progress("publish", done, total)
        finally:
            # On an error or Ctrl-C, stop at once: queued uploads are dropped, never half-sent.
            pool.shutdown(wait=True, cancel_futures=True)
        if plan.deletes:
            self._delete(plan.deletes)
            if progress:
                progress("publish", total, total)

    def close(self) -> None:
        self.client.close()
