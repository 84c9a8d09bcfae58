"""Child-process entry that serves one moto server on 127.0.0.1 until its standard input closes.

The parent reads one line ``READY <port>`` from our stdout (no polling, no sleep),
and stops us by closing our stdin; if the parent dies, the pipe closes too, so the
server is never left running.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any


class _Listed:
    """A stored object version as moto's ListObjectVersions sees it: reads go to the version, `is_latest` is
    the view's own, and isinstance() sees the version's class (moto tells keys from delete markers by it)."""

    __slots__ = ("_item", "is_latest")

    def __init__(self, item: Any) -> None:
        self._item = item

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)

    def __deepcopy__(self, memo: dict[int, Any]) -> _Listed:
        return _Listed(self._item)


def _list_versions_of_the_prefix_only() -> None:
    """Performance only: make moto's ListObjectVersions look at the keys under the requested prefix.

    moto 5.2.5 deep-copies every version of every key in the bucket on each ListObjectVersions call and
    filters by prefix afterwards, so listing one package's revision pointers costs time proportional to
    the whole bucket (the PQ load scenario turned quadratic). Keys outside the prefix are discarded by
    moto anyway; filtering them before the copy changes no answer. Only applied without a KeyMarker,
    where moto's marker handling walks names outside the prefix too. Thread-local: the server is threaded.

    The versions under the prefix are handed to moto as `_Listed` views rather than the stored keys: moto
    deep-copies what it lists only to mark `is_latest` on the copies, and a key's deep copy copies its
    bytes into a new temporary file (about a millisecond per version listed). A view's copy is a new view
    of the same stored version, so moto marks `is_latest` on the view and the stored version is untouched,
    as with moto's copy.
    """
    import threading

    from moto.s3.models import S3Backend
    from moto.s3.utils import _VersionedKeyStore

    local = threading.local()
    original_list = S3Backend.list_object_versions
    original_iterlists = _VersionedKeyStore.iterlists

    def list_object_versions(self: Any, bucket_name: str, delimiter: Any = None, key_marker: Any = None,
                             max_keys: Any = 1000, prefix: str = "", version_id_marker: Any = None) -> Any:
        local.prefix = prefix if prefix and key_marker is None else None
        try:
            return original_list(self, bucket_name, delimiter=delimiter, key_marker=key_marker, max_keys=max_keys,
                                 prefix=prefix, version_id_marker=version_id_marker)
        finally:
            local.prefix = None

    def iterlists(self: Any) -> Any:
        wanted = getattr(local, "prefix", None)
        if wanted is None:
            yield from original_iterlists(self)
            return
        # list() of the key view is one C call (no other thread can change the dict during it), as moto's own
        # snapshot; only the keys under the prefix are then looked up.
        for key in [k for k in list(dict.keys(self)) if k.startswith(wanted)]:
            versions = self.getlist(key)
            if versions is not None:
                yield key, [_Listed(v) for v in versions]

    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]
    _VersionedKeyStore.iterlists = iterlists


def _remember_backend_per_host() -> None:
    """Performance only: remember which moto backend serves a host name.

    moto 5.2.5 resolves the backend of every request by listing its own package folder (``os.listdir`` and
    ``isdir`` of some 200 entries, in ``list_of_moto_modules``) and then trying each service's URL regexes,
    under a lock: about a tenth of the server's CPU time under load. The answer depends only on the host
    name and on tables fixed at start-up, so it is kept per host; a host with no backend is not kept
    (moto's own handling, with its message, runs each time).
    """
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[tuple[int, str | None], Any] = {}
    lock = threading.Lock()

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        key = (id(self), host)
        with lock:
            if key in known:
                return known[key]
        backend = original(self, host)
        if backend is not None:
            with lock:
                known[key] = backend
        return backend

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _parse_moto_timestamps_directly() -> None:
    """Performance only: read moto's own timestamp strings without dateutil.

    moto keeps times as strings such as ``2026-11-28T06:34:40.000Z`` and, to write each one into a
    response, parses it back with botocore's general parser (dateutil: about 0.4 ms per timestamp, a fifth
    of a ListObjectVersions). Strings of exactly that shape are read with datetime.fromisoformat into the
    same value (UTC, dateutil's tzutc as botocore returns); anything else goes to botocore's parser.
    """
    import datetime
    import importlib
    import re

    serialize: Any = importlib.import_module("moto.core.serialize")
    utc = importlib.import_module("dateutil.tz").tzutc()
    original = serialize.parse_to_aware_datetime
    shape = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")

    def parse_to_aware_datetime(value: Any) -> Any:
        if isinstance(value, str) and shape.fullmatch(value):
            return datetime.datetime.fromisoformat(value[:-1]).replace(tzinfo=utc)
        return original(value)

    serialize.parse_to_aware_datetime = parse_to_aware_datetime


def _find_account_backends_directly() -> None:
    """Performance only: look up an account's backend without re-registering the service each time.

    moto 5.2.5 runs ``BackendDict._create_account_specific_backend`` on every backend lookup (several per
    request): under a global lock it copies the account IDs into a list and tests ``self not in
    BackendDict._instances``, a list of dicts compared by value, so each lookup compares whole backend
    dicts. Once an account exists and the service is registered, neither step changes anything; the
    original runs until then.
    """
    from moto.core.base_backend import BackendDict

    original = BackendDict._create_account_specific_backend
    registered: dict[int, Any] = {}  # id -> the BackendDict itself (held, so an id is never reused)

    def create_account_specific_backend(self: Any, account_id: str) -> None:
        if id(self) in registered and dict.__contains__(self, account_id):
            return
        original(self, account_id)
        registered[id(self)] = self

    BackendDict._create_account_specific_backend = create_account_specific_backend  # type: ignore[method-assign]


_BUFFERED_BODY_LIMIT = 64 * 1024 * 1024


def _keep_alive_server(ip_address: str) -> Any:
    """moto's ThreadedMotoServer with HTTP/1.1 keep-alive: one connection (and one server thread) per client
    connection instead of one per request.

    Performance only. Werkzeug's development server answers every request with ``Connection: close``, since
    http.server cannot skip an unread request body before the next request line; every S3 call then paid a
    TCP connect and a new server thread (about a tenth of both processes' CPU). Here a request body with a
    Content-Length (every call boto3 makes over plain HTTP; bodies up to 64 MiB) is read whole before the
    application runs and handed to it in memory, so the connection is at the next request whatever the
    application read, and the header is left out. Chunked or larger bodies keep werkzeug's behaviour.
    The application, and so every answer, is moto's own.
    """
    import io
    import socket

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class KeepAliveHandler(MotoRequestHandler):
        buffered = False

        def setup(self) -> None:
            super().setup()
            # The status line, headers and body leave in separate writes; on a kept-alive connection Nagle's
            # algorithm would hold the body until the client's delayed ACK (about 40 ms per request).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            length = self.headers.get("Content-Length", "0").strip() or "0"
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            if chunked or not length.isdigit() or int(length) > _BUFFERED_BODY_LIMIT:
                self.buffered = False
                super().run_wsgi()
                return
            connection = self.rfile
            body = connection.read(int(length))
            if len(body) != int(length):  # the client went away mid-body
                self.close_connection = True
                return
            self.buffered = True
            self.rfile = io.BytesIO(body)  # werkzeug's environ and its after-response drain read this
            try:
                super().run_wsgi()
            finally:
                self.rfile = connection
                self.buffered = False

        def send_header(self, keyword: str, value: str) -> None:
            if self.buffered and keyword.lower() == "connection" and value.lower() == "close":
                return  # the request was read whole: the connection can carry the next one
            super().send_header(keyword, value)

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=KeepAliveHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address=ip_address, port=0, verbose=False)


def main() -> int:
    # Ctrl-C reaches the whole process group; the parent decides when we stop (it closes our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _list_versions_of_the_prefix_only()
    _remember_backend_per_host()
    _parse_moto_timestamps_directly()
    _find_account_backends_directly()
    # Errors are still logged; the line per request is not (nobody reads it, and it cost ~4 % of the CPU).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # Port 0: the kernel picks a free port at bind time (no race between choosing and binding).
    server = _keep_alive_server("127.0.0.1")
    server.start()
    _host, port = server.get_host_and_port()
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or exited
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
