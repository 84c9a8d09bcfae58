"""Child-process entry that serves one moto server on 127.0.0.1 until its standard input closes.

The parent reads one line ``READY <port>`` from our stdout (no polling, no sleep),
and stops us by closing our stdin; if the parent dies, the pipe closes too, so the
server is never left running.
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def _list_versions_of_the_prefix_only() -> None:
    """Performance only: make moto's ListObjectVersions look at the keys under the requested prefix.

    moto 5.2.5 deep-copies every version of every key in the bucket on each ListObjectVersions call and
    filters by prefix afterwards, so listing one package's revision pointers costs time proportional to
    the whole bucket (the PQ load scenario turned quadratic). Keys outside the prefix are discarded by
    moto anyway; filtering them before the copy changes no answer. Only applied without a KeyMarker,
    where moto's marker handling walks names outside the prefix too. Thread-local: the server is threaded.
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
        for key, versions in original_iterlists(self):
            if wanted is None or key.startswith(wanted):
                yield key, versions

    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]
    _VersionedKeyStore.iterlists = iterlists


def main() -> int:
    # Ctrl-C reaches the whole process group; the parent decides when we stop (it closes our stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from moto.server import ThreadedMotoServer

    _list_versions_of_the_prefix_only()

    # Port 0: the kernel picks a free port at bind time (no race between choosing and binding).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or exited
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
