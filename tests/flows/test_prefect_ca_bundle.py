"""The dbt nodes' Prefect task runs do not load a whole CA bundle over a plain-HTTP API.

Each node of the nightly's `dbt build` is a Prefect task run in a thread of its own
(prefect-dbt's NodeTaskTracker), and every API client it opens builds an SSL context from
Prefect's CA file. `no_ca_bundle_for_plain_http` (flows/nightly.py) makes that file one
certificate when the API is `http://`; with `https://` nothing changes.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from prefect import flow, task
from prefect.context import serialize_context
from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_URL,
    get_current_settings,
    temporary_settings,
)
from prefect_dbt.core._tracker import NodeTaskTracker

from flows import nightly
from flows.nightly import no_ca_bundle_for_plain_http

ROOT = Path(__file__).resolve().parents[2]


@task
def _node() -> int:
    return 1


def _certificates(cafile: str) -> int:
    return ssl.create_default_context(cafile=cafile).cert_store_stats()["x509"]


def _run_node_as_prefect_dbt_does() -> None:
    """One task run in a thread, through the same tracker PrefectDbtRunner uses per node."""
    tracker = NodeTaskTracker()
    tracker.start_task("model.x", _node)
    tracker.set_node_dependencies("model.x", [])
    tracker.run_task_in_thread(
        "model.x", _node, task_run_id=uuid.uuid4(), parameters={}, context=serialize_context()
    )
    for _ in range(600):  # the thread sets the result when the task run is final
        if tracker.get_task_result("model.x") is not None:
            return
        tracker.wait_for_node_completion("model.x", timeout=0.1)
    raise AssertionError("the node's task run did not finish")


def test_node_task_runs_load_one_certificate_over_plain_http(prefect_harness, monkeypatch):
    assert get_current_settings().api.url.startswith("http://")  # the harness's server
    calls: list[tuple[str, str | None]] = []
    create = ssl.create_default_context

    def spy(*args, cafile=None, **kwargs):
        calls.append((threading.current_thread().name, cafile))
        return create(*args, cafile=cafile, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", spy)

    @flow
    def build_like_the_nightly() -> None:
        with no_ca_bundle_for_plain_http():
            _run_node_as_prefect_dbt_does()

    build_like_the_nightly()
    # the tracker's thread runs `run_task`: every SSL context built there (its clients')
    in_node = [cafile for thread, cafile in calls if thread.endswith("(run_task)")]
    assert in_node, "no API client was opened in the node's thread"
    assert all(cafile and "rcm-prefect-ca-" in cafile for cafile in in_node), in_node


def test_the_file_holds_one_certificate_and_outlives_the_build(prefect_harness):
    """A node's task thread can still open an API client after dbt returned: the file stays
    (one per process, the same for every build) and the setting is restored."""
    before = PREFECT_API_SSL_CERT_FILE.value()
    with no_ca_bundle_for_plain_http():
        cafile = PREFECT_API_SSL_CERT_FILE.value()
        assert cafile != before
        assert _certificates(cafile) == 1
    assert PREFECT_API_SSL_CERT_FILE.value() == before
    assert _certificates(cafile) == 1
    with no_ca_bundle_for_plain_http():
        assert PREFECT_API_SSL_CERT_FILE.value() == cafile


def test_the_file_goes_away_when_the_process_exits():
    code = (
        "from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, "
        "temporary_settings\n"
        "from flows.nightly import no_ca_bundle_for_plain_http\n"
        "with temporary_settings(updates={PREFECT_API_URL: 'http://127.0.0.1:9/api'}):\n"
        "    with no_ca_bundle_for_plain_http():\n"
        "        print(PREFECT_API_SSL_CERT_FILE.value())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cafile = Path(done.stdout.strip().splitlines()[-1])
    assert "rcm-prefect-ca-" in str(cafile)
    assert not cafile.exists() and not cafile.parent.exists()


def test_no_scratch_file_means_prefects_default(prefect_harness, monkeypatch):
    """The one-certificate file is only a saving: when it cannot be written (say a full or
    read-only temp folder) the build goes on with Prefect's CA file as configured."""

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", no_space)
    monkeypatch.setattr(nightly, "_CA_FILE", [])  # none written yet in this process
    before = PREFECT_API_SSL_CERT_FILE.value()
    with no_ca_bundle_for_plain_http():
        assert PREFECT_API_SSL_CERT_FILE.value() == before


@pytest.mark.parametrize("url", ["https://api.prefect.cloud/api", "HTTPS://prefect.example/api"])
def test_an_https_api_keeps_its_ca_file(url):
    with temporary_settings(updates={PREFECT_API_URL: url}):
        before = PREFECT_API_SSL_CERT_FILE.value()
        with no_ca_bundle_for_plain_http():
            assert PREFECT_API_SSL_CERT_FILE.value() == before
