#!/usr/bin/env python3
"""Write small seed inputs for the fuzz targets into fuzz/seeds/<target>/ (idempotent)."""
import bz2, gzip, io, lzma, os, struct, tarfile, zipfile

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(here, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tar_bytes():
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for name, body in [("demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
                           ("demo-1.0/setup.py", b"import os\nos.system('id')\n")]:
            i = tarfile.TarInfo(name)
            i.size = len(body)
            t.addfile(i, io.BytesIO(body))
    return b.getvalue()


def zip_bytes():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("demo/__init__.py", "import socket\nsocket.create_connection(('x', 1))\n")
        z.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        z.writestr("demo-1.0.dist-info/RECORD", "")
    return b.getvalue()


for name in ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "Demo_Pkg-2.0rc1.zip", "x-1-cp312-abi3-manylinux_2_17_x86_64.whl"]:
    put("dist_filename", name, name)
put("pages", "json", b"\x00" + b'{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"../../f/demo-1.0.tar.gz","hashes":{"sha256":"' + b"ab" * 32 + b'"},"yanked":"no","core-metadata":{"sha256":"cd"}}]}')
put("pages", "html", b"\x01" + b'<!DOCTYPE html><html><head><base href="/x/"></head><body><a href="demo-1.0.tar.gz#sha256=' + b"ab" * 32 + b'" data-requires-python="&gt;=3.8" data-yanked="">demo-1.0.tar.gz</a></body></html>')
put("archive", "whl", b"\x00" + zip_bytes())
put("archive", "tgz", b"\x01" + gzip.compress(tar_bytes()))
put("archive", "tbz2", b"\x02" + bz2.compress(tar_bytes()))
put("archive", "txz", b"\x03" + lzma.compress(tar_bytes()))
put("archive", "tar", b"\x01" + tar_bytes())
policy_src = os.path.join(here, "..", "policy.yaml")
if os.path.exists(policy_src):
    put("policy", "shipped", open(policy_src, "rb").read())
put("headers", "range", struct.pack("<Q", 1000) + b"bytes=10-20\n\"abc\", W/\"x\"\napplication/vnd.pypi.simple.v1+json, text/html;q=0.01")
put("headers", "suffix", struct.pack("<Q", 1000) + b"bytes=-5\n*\n*/*;q=0")
