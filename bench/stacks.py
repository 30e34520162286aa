#!/usr/bin/env python3
"""Real-tree false-positive suite: install the dependency closures of mainstream stacks
through a running pipgate, with the repo's policy.yaml exactly as shipped (cooldown
included), from the upstream the local pip is configured with, with real pip AND real uv.
Reports per stack whether each client's install succeeded, and every block and annotation
pipgate decided, with its detector.

Usage: bench/stacks.py [--only=NAME,NAME] [--clients=pip,uv] [--data-dir=DIR]
(needs a release build and uv: `cargo build --release`, `python3 -m pip install uv`;
PIPGATE_BIN or CARGO_TARGET_DIR choose the build.) No registry host name is written here:
pipgate asks pip which index it uses.

The goal (issue 11): nothing blocked, every install succeeds, and an annotation rate per
detector that can be defended.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
BINARY = os.environ.get("PIPGATE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "pipgate")

# (stack, requirement strings). Chosen to cover web, data, cloud, ML without torch, dev
# tooling, automation and infrastructure, i.e. what a Python team installs in its first week.
STACKS = [
    ("fastapi-standard", ["fastapi[standard]"]),
    ("django", ["django"]),
    ("flask", ["flask"]),
    ("pandas", ["pandas"]),
    ("scikit-learn", ["scikit-learn"]),
    ("jupyterlab", ["jupyterlab"]),
    ("boto3", ["boto3"]),
    ("google-cloud-storage", ["google-cloud-storage"]),
    ("azure-identity", ["azure-identity"]),
    ("transformers", ["transformers"]),
    ("langchain", ["langchain"]),
    ("pytest", ["pytest"]),
    ("black", ["black"]),
    ("ruff", ["ruff"]),
    ("mypy", ["mypy"]),
    ("pre-commit", ["pre-commit"]),
    ("requests-httpx", ["requests", "httpx"]),
    ("sqlalchemy-psycopg", ["sqlalchemy", "psycopg[binary]"]),
    ("celery-redis", ["celery[redis]"]),
    ("ansible", ["ansible-core"]),
    ("paramiko-fabric", ["paramiko", "fabric"]),
    ("twisted", ["twisted[tls]"]),
    ("pydantic", ["pydantic", "pydantic-settings"]),
    ("matplotlib", ["matplotlib"]),
    ("scrapy", ["scrapy"]),
    ("sphinx", ["sphinx"]),
    ("streamlit", ["streamlit"]),
    ("coloredlogs-tox", ["coloredlogs", "tox"]),
    ("openai", ["openai"]),
    ("kubernetes", ["kubernetes"]),
    ("dask", ["dask[dataframe]"]),
    ("poetry", ["poetry"]),
]


def start_pipgate(work, data):
    proc = subprocess.Popen(
        [BINARY, "serve", "--listen", "127.0.0.1:0", "--policy", os.path.join(ROOT, "policy.yaml"),
         "--data-dir", data],
        stdout=subprocess.PIPE, stderr=open(os.path.join(work, "pipgate.log"), "w"), text=True)
    line = proc.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    return proc, url


def client_env(work):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_")) or k in ("PIP_CERT",)}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               UV_NO_CACHE="1", UV_CACHE_DIR=os.path.join(work, "uv-cache"), UV_NO_CONFIG="1",
               UV_PYTHON_DOWNLOADS="never")
    return env


def install(client, venv, index, reqs, env, log):
    t0 = time.time()
    if client == "pip":
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        cmd = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--index-url", index, *reqs]
    else:
        subprocess.run([sys.executable, "-m", "uv", "venv", "-q", "--python", sys.executable, venv], check=True, env=env)
        cmd = [sys.executable, "-m", "uv", "pip", "install", "--python", os.path.join(venv, "bin", "python"),
               "--index-url", index, *reqs]
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, timeout=1800).returncode
    return rc, time.time() - t0


def main():
    only = set(ARGS["only"].split(",")) if "only" in ARGS else None
    clients = ARGS.get("clients", "pip,uv").split(",")
    stacks = [s for s in STACKS if only is None or s[0] in only]
    work = tempfile.mkdtemp(prefix="pipgate-stacks")
    data = ARGS.get("data-dir") or os.path.join(work, "data")
    proc, gate = start_pipgate(work, data)
    index = gate.rstrip("/") + "/simple/" if not gate.rstrip("/").endswith("/simple") else gate
    env = client_env(work)
    rows = []
    t_all = time.time()
    try:
        for name, reqs in stacks:
            for client in clients:
                venv = os.path.join(work, f"venv-{client}-{name}")
                log = os.path.join(work, f"{client}-{name}.log")
                rc, secs = install(client, venv, index, reqs, env, log)
                tail = open(log).read().strip().splitlines()[-3:] if rc else []
                rows.append((name, client, rc, secs, tail))
                print(f"{name:22} {client:3} {'ok' if rc == 0 else 'FAILED rc=%d' % rc:12} {secs:6.1f}s", flush=True)
                for l in tail:
                    print(f"{'':26}{l[:160]}")
                shutil.rmtree(venv, ignore_errors=True)
    finally:
        proc.terminate()
    report(rows, data, work, time.time() - t_all)


def report(rows, data, work, secs):
    audit = [json.loads(l) for l in open(os.path.join(data, "audit", "audit.jsonl"))]
    files = {}
    for rec in audit:
        if rec.get("request") == "file" and rec.get("filename"):
            files[rec["filename"]] = rec  # last decision per file
    blocked = [r for r in files.values() if r["decision"] == "block"]
    annotated = [r for r in files.values() if r["decision"] == "annotate"]
    by_detector = {}
    for r in annotated:
        for x in r["reasons"]:
            for d in x.get("findings") or [str(x["code"])]:
                by_detector.setdefault(d, set()).add(r["filename"])
    failed = [r for r in rows if r[2] != 0]
    print(f"\n{len({r[0] for r in rows})} stacks x {len({r[1] for r in rows})} clients in {secs:.0f}s: "
          f"{len(rows) - len(failed)} installs succeeded, {len(failed)} failed; "
          f"{len(files)} distinct artifacts decided: {len(blocked)} blocked, {len(annotated)} annotated "
          f"({100 * len(annotated) / max(len(files), 1):.1f}%)")
    for r in failed:
        print(f"  FAILED {r[1]} {r[0]}")
    for r in blocked:
        why = "; ".join(f"{x['code']}: {x['message']}" for x in r["reasons"][:2])
        print(f"  BLOCKED {r['filename']}: {why}")
    print("annotations by detector (artifacts):")
    for d, fs in sorted(by_detector.items(), key=lambda kv: -len(kv[1])):
        example = sorted(fs)[:3]
        print(f"  {len(fs):4d}  {d:40} e.g. {', '.join(example)}")
    print(f"\nwork dir (logs, audit): {work}")


if __name__ == "__main__":
    main()
