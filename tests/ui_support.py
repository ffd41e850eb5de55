"""Helpers for the Dagster UI tests: a `dagster-webserver` subprocess, its GraphQL API, and pure graph helpers
(asset keys as "a/b" strings) that the tests can exercise on small hand-made graphs."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from support import REPO_ROOT, pipeline_env, send_pipeline

DAGSTER_WEBSERVER = str(Path(sys.executable).with_name("dagster-webserver"))

ASSET_NODES_QUERY = """
query SendLineage {
  assetNodes {
    assetKey { path }
    groupName
    jobNames
    dependencyKeys { path }
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } }
      ... on Error { message }
    }
  }
}
"""

WORKSPACE_QUERY = """
query SendWorkspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}
"""


def key_str(path: Iterable[str]) -> str:
    return "/".join(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no output)"


def http_get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def graphql(base_url: str, query: str, timeout: float = 120) -> dict:
    """POST a query to the webserver's /graphql; fail on GraphQL errors. Returns `data`."""
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise AssertionError(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
    return payload["data"]


def pipeline_with_instance(root: Path) -> dict:
    """Generate the Rutland extracts under root and run the nightly job once against a persistent Dagster instance
    (DAGSTER_HOME = root/dagster_home with the project's dagster.yaml), so the UI has materializations to show.
    `support.generated_and_published` drops DAGSTER_HOME (it runs on an ephemeral instance), hence the two steps."""
    env = pipeline_env(root)
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    env["DAGSTER_HOME"] = str(dagster_home)
    generated = send_pipeline(env, "generate", "--scale", "rutland", "--seed", "2023", "--out", env["SEND_RAW_DIR"])
    assert generated.returncode == 0, generated.stderr[-3000:]
    run = send_pipeline(env, "run")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return env


@dataclass
class Webserver:
    process: subprocess.Popen
    base_url: str
    stdout: Path
    stderr: Path
    env: dict

    def diagnostics(self) -> str:
        return f"webserver stderr (tail):\n{tail(self.stderr)}\nwebserver stdout (tail):\n{tail(self.stdout, 1500)}"

    def stop(self) -> None:
        """SIGTERM to the webserver's own process group (it and its code server), SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def start_webserver(env: Mapping[str, str], log_dir: Path, timeout: float = 120) -> Webserver:
    """Start `dagster-webserver -m pipeline.definitions` on a free localhost port and wait until /server_info
    answers and the code location has loaded. On failure the webserver is stopped and its stderr tail reported."""
    port = free_port()
    stdout, stderr = log_dir / "webserver.stdout.log", log_dir / "webserver.stderr.log"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [DAGSTER_WEBSERVER, "-m", "pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)],
            env=dict(env),
            cwd=env["SEND_WAREHOUSE_DIR"],
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group, so teardown reaches the code server it spawns
        )
    server = Webserver(process, f"http://127.0.0.1:{port}", stdout, stderr, dict(env))
    try:
        wait_until_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(server: Webserver, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"dagster-webserver exited with {server.process.returncode}\n{server.diagnostics()}")
        try:
            json.loads(http_get(f"{server.base_url}/server_info"))
            entries = graphql(server.base_url, WORKSPACE_QUERY, timeout=30)["workspaceOrError"]
            if entries["__typename"] != "Workspace":
                raise AssertionError(f"workspace failed to load: {entries.get('message', '')[:2000]}")
            statuses = {e["name"]: e for e in entries["locationEntries"]}
            errors = [
                e["locationOrLoadError"].get("message", "")
                for e in statuses.values()
                if e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "PythonError"
            ]
            if errors:
                raise AssertionError(f"code location failed to load:\n{errors[0][:3000]}")
            if statuses and all(e["loadStatus"] == "LOADED" for e in statuses.values()):
                return
            last_problem = f"code locations still loading: {sorted(statuses)}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as error:
            last_problem = repr(error)
        time.sleep(0.5)
    raise AssertionError(
        f"dagster-webserver did not become ready in {timeout:.0f}s ({last_problem})\n{server.diagnostics()}"
    )


# --- pure graph helpers -------------------------------------------------------------------------------------------


def dependency_map(asset_nodes: list[dict]) -> dict[str, set[str]]:
    """asset key -> keys it depends on, from GraphQL assetNodes."""
    return {
        key_str(node["assetKey"]["path"]): {key_str(dep["path"]) for dep in node["dependencyKeys"]}
        for node in asset_nodes
    }


def missing_edges(deps: Mapping[str, set[str]], chain: list[str]) -> list[str]:
    """The edges of chain (each key feeding the next) that the graph lacks, as "up -> down"."""
    return [f"{up} -> {down}" for up, down in zip(chain, chain[1:], strict=False) if up not in deps.get(down, set())]


def upstream_of(deps: Mapping[str, set[str]], key: str) -> set[str]:
    seen, todo = set(), [key]
    while todo:
        for parent in deps.get(todo.pop(), set()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def downstream_of(deps: Mapping[str, set[str]], key: str) -> set[str]:
    children: dict[str, set[str]] = {}
    for child, parents in deps.items():
        for parent in parents:
            children.setdefault(parent, set()).add(child)
    return upstream_of(children, key)


def on_paths(deps: Mapping[str, set[str]], source: str, target: str) -> set[str]:
    """Every asset on some path source -> ... -> target, both ends included (empty when none connects them)."""
    if source != target and target not in downstream_of(deps, source):
        return set()
    return (downstream_of(deps, source) | {source}) & (upstream_of(deps, target) | {target})


def dangling_dependencies(deps: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Dependencies on keys that no asset defines: a break in the lineage (e.g. a dbt source without its key)."""
    return {key: parents - deps.keys() for key, parents in deps.items() if parents - deps.keys()}


def expected_dbt_checks(manifest: Mapping, asset_keys: Iterable[str]) -> dict[str, set[str]]:
    """asset key -> names of the dbt tests that should appear as its asset checks, worked out from dbt's manifest:
    a test belongs to its attached model/seed (the asset with that name) or, for a source test, to the asset key
    the source declares in meta.dagster.asset_key."""
    by_name: dict[str, list[str]] = {}
    for key in asset_keys:
        by_name.setdefault(key.split("/")[-1], []).append(key)
    sources = manifest.get("sources", {})
    expected: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        parents = node.get("depends_on", {}).get("nodes", [])
        target = node.get("attached_node") or (parents[0] if len(parents) == 1 else None)
        if target is None:
            continue
        if target.startswith("source."):
            source = sources[target]
            meta = source.get("config", {}).get("meta") or source.get("meta") or {}
            key = key_str(meta["dagster"]["asset_key"])
        else:
            name = manifest["nodes"][target]["name"]
            candidates = by_name.get(name, [])
            assert len(candidates) == 1, f"dbt node {target} matches assets {candidates}"
            key = candidates[0]
        expected.setdefault(key, set()).add(node["name"])
    return expected
