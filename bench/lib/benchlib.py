"""bench/lib/benchlib.py -- what the benchmarks in bench/ share.

Error types, the global deadline, process CPU accounting from /proc, free
loopback ports, the private Postfix, Dovecot and petrel instances, the
loop-mounted ext4 image, smtp-source, a selector-driven SMTP client and
ways to count a mailbox.  Each bench's `run` script imports it; every
server it starts lives in the bench's temporary directory and is stopped
by PID.  Methodology: bench/README.md and each bench's README.

Standard library only; run with Debian's /usr/bin/python3.
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import poplib
import pwd
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
MKFS_EXT4 = "/usr/sbin/mkfs.ext4"
MOUNT = "/usr/bin/mount"
UMOUNT = "/usr/bin/umount"
INSTALL_HINT = ("install it with: scripts/install-deps --with-bench\n"
                "  (or: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix;\n"
                "   'No configuration' is fine: the bench never uses the system instance)")

DOMAIN = "bench.example"
HOSTNAME = "bench.example"
SENDER = "sender@" + DOMAIN
RCPT = "rcpt@" + DOMAIN
DOVECOT_HINT = ("install them with: scripts/install-deps --with-bench\n"
                "  (or: apt-get install -y dovecot-core dovecot-lmtpd dovecot-pop3d;\n"
                "   the bench never uses the system instance)")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Bounds on the options: the run must stay bounded in count, size and time.
MAX_MESSAGES = 1_000_000
MAX_CONNECTIONS = 500
MAX_SIZE = 10 * 1024 * 1024


class BenchError(Exception):
    """A step failed; the message says which and why."""


class Interrupted(Exception):
    """SIGINT/SIGTERM/SIGHUP or the global timeout."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --- deadline -----------------------------------------------------------------

class Deadline:
    """The global time budget; every blocking step asks it for a timeout."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self, cap=None):
        left = self.end - time.monotonic()
        if left <= 0:
            raise Interrupted("global timeout reached")
        return left if cap is None else min(left, cap)


# --- processes and CPU accounting ----------------------------------------------

def proc_stat(pid):
    """(ppid, utime+stime+cutime+cstime in ticks) of pid, or None if gone.

    cutime/cstime hold the time of children the process has reaped, so a
    short-lived Postfix daemon (smtpd, cleanup, discard...) that exits during
    the measurement still counts, through its parent master."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(b")") + 2:].split()
    # rest[0] is field 3 (state); fields 4, 14..17 are ppid, utime, stime,
    # cutime, cstime (proc(5)).
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def process_snapshot():
    """{pid: (ppid, cpu ticks)} of every process, read in one pass."""
    snap = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                snap[int(name)] = st
    return snap


def process_tree(root, snap=None):
    """root and all its descendants, as a set of PIDs."""
    snap = process_snapshot() if snap is None else snap
    children = {}
    for pid, (ppid, _) in snap.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    return tree


def server_cpu_seconds(server):
    """CPU seconds of everything a server under test runs: the tree of its
    root_pid(), or of each of its root_pids() (Postfix and Dovecot)."""
    roots = server.root_pids() if hasattr(server, "root_pids") else [server.root_pid()]
    return sum(tree_cpu_seconds(pid) for pid in roots)


def tree_cpu_seconds(root):
    """CPU seconds (user+system, all threads, reaped children) of root's
    tree, from one snapshot of /proc."""
    snap = process_snapshot()
    return sum(snap[pid][1] for pid in process_tree(root, snap) if pid in snap) / CLK_TCK


def proc_starttime(pid):
    """Start time of pid in ticks since boot (field 22), None if gone: with
    the PID it names one process, even if the PID is reused later."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(data[data.rindex(b")") + 2:].split()[19])


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def wait_pid_gone(pid, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, alive, deadline, timeout=30):
    """Waits until 127.0.0.1:port accepts; alive() says the server still runs."""
    end = time.monotonic() + deadline.left(timeout)
    while time.monotonic() < end:
        if not alive():
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def run_cmd(args, deadline, timeout=60, input=None):
    """Runs a short setup command; raises BenchError with its output on failure."""
    try:
        r = subprocess.run(args, input=input, capture_output=True, text=True,
                           timeout=deadline.left(timeout))
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out" % " ".join(args))
    if r.returncode != 0:
        raise BenchError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                r.stdout, r.stderr))
    return r.stdout


# --- servers ---------------------------------------------------------------------

class PostfixServer:
    """A private Postfix instance: own config, queue and data directories under
    the bench's temporary directory, started with `postfix -c DIR start`.  The
    system instance (/etc/postfix) is never read or touched."""

    name = "postfix"

    def __init__(self, base, connections, size):
        self.base = os.path.join(base, "postfix")
        self.etc = os.path.join(self.base, "etc")
        self.spool = os.path.join(self.base, "spool")
        self.data = os.path.join(self.base, "data")
        self.maillog = os.path.join(self.base, "maillog")
        self.port = free_port()
        self.connections = connections
        self.size = size
        self.master = None
        self.started = False
        self.version = ""

    # The first lines of main.cf: what this instance is for.
    header_cf = """\
# Private Postfix instance of petrel's bench/smtp-in: receive on loopback,
# queue durably (cleanup fsyncs each queue file before smtpd answers 250:
# Postfix's default, left as is), deliver to discard.
"""

    # Services added to master.cf's list (a subclass delivering elsewhere).
    extra_services_cf = ""

    def delivery_cf(self):
        """The main.cf lines saying which recipients exist and where their
        mail goes: here any recipient of the bench domain, to discard."""
        return """\
# Any recipient of the bench domain, delivered nowhere: only receiving and
# queueing is measured.
local_recipient_maps =
alias_maps =
alias_database =
local_transport = discard:
default_transport = discard:
relay_transport = discard:
"""

    def main_cf(self):
        # Room for the largest message and the connection count asked for;
        # Postfix defaults otherwise.
        size_limit = max(10240000, 2 * self.size + 65536)
        procs = max(100, self.connections + 20)
        return self.header_cf + f"""\
compatibility_level = 3.6
config_directory = {self.etc}
queue_directory = {self.spool}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {HOSTNAME}
mydomain = {DOMAIN}
myorigin = $mydomain
mydestination = {DOMAIN}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
{self.delivery_cf()}# No DNS anywhere: the bench stays on loopback.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
# Postfix's best case on acceptance: do not slow smtpd down when the
# arrival rate exceeds the delivery rate (default 1s).
in_flow_delay = 0s
message_size_limit = {size_limit}
default_process_limit = {procs}
smtpd_client_connection_count_limit = 0
biff = no
maillog_file = {self.maillog}
"""

    def master_cf(self):
        # Only the services this setup uses; no chroot, so no copies of
        # /etc files are needed under the queue directory.
        return f"""\
127.0.0.1:{self.port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""" + self.extra_services_cf

    def write_config(self):
        os.makedirs(self.etc)
        os.makedirs(self.spool)
        os.makedirs(self.data)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        os.chmod(self.data, 0o700)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self.master_cf())

    def start(self, deadline):
        self.version = run_cmd([POSTCONF, "-d", "-h", "mail_version"], deadline).strip()
        self.write_config()
        # `check` creates the queue subdirectories with their owners and modes.
        run_cmd([POSTFIX, "-c", self.etc, "check"], deadline)
        self.started = True
        run_cmd([POSTFIX, "-c", self.etc, "start"], deadline)
        pidfile = os.path.join(self.spool, "pid", "master.pid")
        try:
            with open(pidfile) as f:
                self.master = int(f.read().strip())
        except (OSError, ValueError) as e:
            raise BenchError("postfix: no master pid (%s)\n%s" % (e, self.read_log()))
        if not wait_port(self.port, lambda: pid_alive(self.master), deadline):
            raise BenchError("postfix: not listening on %d\n%s" % (self.port, self.read_log()))

    def root_pid(self):
        return self.master

    def is_drained(self):
        """True when no message is left in the queue (all discarded)."""
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            d = os.path.join(self.spool, sub)
            for _, _, files in os.walk(d):
                if files:
                    return False
        return True

    def read_log(self, tail=4000):
        try:
            with open(self.maillog, "rb") as f:
                return f.read()[-tail:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if not self.started:
            return
        # The instance's processes, each named by PID and start time.
        procs = {pid: proc_starttime(pid)
                 for pid in (process_tree(self.master) if self.master else ())}
        try:
            subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True,
                           timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if self.master and not wait_pid_gone(self.master, 15):
            log("postfix: master %d did not stop, killing it" % self.master)
        end = time.monotonic() + 5
        while time.monotonic() < end and any(
                st is not None and proc_starttime(pid) == st for pid, st in procs.items()):
            time.sleep(0.1)
        # Whatever of the instance survived `stop`: killed by PID, and only
        # if that PID is still the same process.
        for pid, st in procs.items():
            if st is not None and proc_starttime(pid) == st:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.started = False

    def describe(self):
        return "postfix %s" % self.version


class PetrelServer:
    """petrel from this tree: quickstart in a temporary data dir, one user,
    every listener moved to a free loopback port, `petrel serve`."""

    name = "petrel"

    # Listeners a bench needs that quickstart may leave commented out (not
    # served by every version): {name: (protocol, tls)}; each one missing
    # from the config is added on a free loopback port.
    want_listeners = {}

    def __init__(self, base, binary, connections, size):
        self.binary = binary
        self.data = os.path.join(base, "petrel")
        self.conf = os.path.join(self.data, "petrel.conf")
        self.log_path = os.path.join(base, "petrel-serve.log")
        self.connections = connections
        self.size = size
        self.port = 0
        self.ports = {}		# listener name ("smtp", "pop3"...) -> port
        self.password = "bench-%d" % os.getpid()
        self.proc = None
        self.logf = None

    def cli(self, args, deadline, input=None):
        return run_cmd([self.binary, "-c", self.conf] + args, deadline, input=input)

    def rewrite_config(self):
        """Loopback-only free ports for every listener; limits that fit the
        load; no privilege drop (the data dir belongs to whoever runs this)."""
        limits = {
            "max_message_size": str(max(50 * 1024 * 1024, 2 * self.size + 65536)),
            "max_connections_per_ip": str(max(50, self.connections + 10)),
        }
        out, section, seen = [], None, set()
        with open(self.conf) as f:
            lines = f.read().splitlines()
        for line in lines:
            m = re.match(r"\s*\[([^\]]+)\]", line)
            if m:
                section = m.group(1).strip()
            key = re.match(r"\s*([a-z_]+)\s*=", line)
            k = key.group(1) if key else None
            if section and section.startswith("listen.") and k == "port":
                port = free_port()
                if section == "listen.smtp":
                    self.port = port
                self.ports[section[len("listen."):]] = port
                line = "port = %d" % port
            elif section and section.startswith("listen.") and k == "address":
                line = "address = 127.0.0.1"
            elif section == "server" and k == "user":
                continue
            elif section == "limits" and k in limits:
                line = "%s = %s" % (k, limits[k])
                seen.add(k)
            out.append(line)
        rest = [(k, v) for k, v in limits.items() if k not in seen]
        if rest:
            at = next((i for i, l in enumerate(out) if l.strip() == "[limits]"), None)
            if at is None:
                out.append("[limits]")
                at = len(out) - 1
            for k, v in rest:
                out.insert(at + 1, "%s = %s" % (k, v))
        for name, (protocol, tls) in sorted(self.want_listeners.items()):
            if name not in self.ports:
                self.ports[name] = free_port()
                out += ["", "[listen.%s]" % name, "address = 127.0.0.1",
                        "port = %d" % self.ports[name], "protocol = %s" % protocol,
                        "tls = %s" % tls]
        if not self.port:
            raise BenchError("petrel: no [listen.smtp] section in %s" % self.conf)
        with open(self.conf, "w") as f:
            f.write("\n".join(out) + "\n")

    def start(self, deadline):
        run_cmd([self.binary, "quickstart", HOSTNAME, "--domain", DOMAIN,
                 "--data", self.data], deadline, timeout=120)
        self.rewrite_config()
        self.cli(["user", "add", RCPT, "--password-stdin"], deadline,
                 input=self.password + "\n")
        self.logf = open(self.log_path, "ab")
        # Own session: a Ctrl-C on the terminal reaches only this script,
        # which then stops petrel itself (SIGTERM, graceful).
        self.proc = subprocess.Popen([self.binary, "-c", self.conf, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.port, lambda: self.proc.poll() is None, deadline):
            raise BenchError("petrel: not listening on %d\n%s" % (self.port, self.read_log()))

    def serves(self, listener):
        """Whether `petrel serve` said it serves this listener: it prints
        one line per listener, "(not served yet)" on those this version
        binds but does not serve."""
        for line in self.read_log(tail=1 << 20).splitlines():
            words = line.split()
            if words and words[0] == listener:
                return "not served yet" not in line
        return False

    def account_id(self, address, deadline):
        """The directory's account id of address (`petrel user show`)."""
        out = self.cli(["--json", "user", "show", address], deadline)
        try:
            return int(json.loads(out)["id"])
        except (ValueError, KeyError, TypeError) as e:
            raise BenchError("petrel user show %s: unexpected output (%s): %r"
                             % (address, e, out[:200]))

    def root_pid(self):
        return self.proc.pid

    def is_drained(self):
        """petrel's queue is not read behind its back; wait_idle relies on
        CPU going quiet."""
        return True

    def read_log(self, tail=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-tail:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                log("petrel: did not stop on SIGTERM, killing pid %d" % self.proc.pid)
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.returncode not in (0, None):
            log("petrel: exit status %d; last log lines:\n%s"
                % (self.proc.returncode, self.read_log()))
        self.proc = None
        if self.logf:
            self.logf.close()
            self.logf = None

    def describe(self):
        return "petrel (%s)" % os.path.relpath(self.binary, ROOT)


def argon2id_hash(password):
    """{ARGON2ID} hash of password with libsodium's INTERACTIVE costs
    (t=2, m=64 MiB, p=1): what `petrel user add` stores, so a Dovecot
    login costs the same hash as a petrel one.  libsodium through ctypes
    (petrel links it anyway); None when it cannot be loaded."""
    name = ctypes.util.find_library("sodium")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    if lib.sodium_init() < 0:
        return None
    for f in ("opslimit_interactive", "memlimit_interactive", "strbytes"):
        getattr(lib, "crypto_pwhash_argon2id_" + f).restype = ctypes.c_size_t
    lib.crypto_pwhash_argon2id_str.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_ulonglong,
        ctypes.c_size_t]
    out = ctypes.create_string_buffer(lib.crypto_pwhash_argon2id_strbytes())
    pw = password.encode()
    if lib.crypto_pwhash_argon2id_str(
            out, pw, len(pw), lib.crypto_pwhash_argon2id_opslimit_interactive(),
            lib.crypto_pwhash_argon2id_memlimit_interactive()) != 0:
        return None
    return "{ARGON2ID}" + out.value.decode("ascii")


def mail_user():
    """(uid, gid, name) the private Dovecot stores mail as.  Dovecot
    refuses mail access as root, so when the bench runs under sudo it is
    the invoking user (SUDO_UID), else `nobody`."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if uid.isdigit() and gid.isdigit() and int(uid) != 0:
        try:
            name = pwd.getpwuid(int(uid)).pw_name
        except KeyError:
            name = uid
        return int(uid), int(gid), name
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid, "nobody"


class DovecotServer:
    """A private Dovecot instance from Debian's packages: its own config
    file (`dovecot -F -c FILE`, no /etc/dovecot), base_dir, state_dir, log
    and mail under the bench's temporary directory; LMTP and POP3 on free
    loopback ports; passwd-file users (RCPT and any others asked for), all
    with one password.  Mail is stored as
    mail_user() in Maildir or sdbox (fmt), with Dovecot's defaults for
    everything else (mail_fsync = optimized: each mail file is fsynced
    before the LMTP 250)."""

    name = "dovecot"

    def __init__(self, base, fmt, password, users=(RCPT,)):
        assert fmt in ("maildir", "sdbox")
        self.fmt = fmt
        self.base = os.path.join(base, "dovecot-" + fmt)
        self.conf = os.path.join(self.base, "dovecot.conf")
        self.users = os.path.join(self.base, "users")
        self.run_dir = os.path.join(self.base, "run")
        self.state_dir = os.path.join(self.base, "state")
        # One home per user, named by its address.
        self.homes = {u: os.path.join(self.base, "home", u) for u in users}
        self.log_path = os.path.join(self.base, "dovecot.log")
        self.password = password
        self.lmtp_port = free_port()
        self.pop3_port = free_port()
        self.port = self.lmtp_port
        self.proc = None
        self.logf = None
        self.children = {}
        self.version = ""
        self.hash_note = ""

    def write_config(self, deadline):
        uid, gid, _ = mail_user()
        for d in (self.run_dir, self.state_dir, os.path.join(self.base, "home")):
            os.makedirs(d)
        for home in self.homes.values():
            os.makedirs(home, mode=0o700)
            os.chown(home, uid, gid)
        hashed = argon2id_hash(self.password)
        if hashed is None:
            # Dovecot's own Argon2id (t=3): a little dearer than petrel's.
            hashed = run_cmd([DOVEADM, "pw", "-s", "ARGON2ID", "-p", self.password],
                             deadline).strip()
            self.hash_note = "doveadm pw ARGON2ID (t=3)"
        else:
            self.hash_note = "ARGON2ID t=2 m=64MiB, as petrel's"
        with open(self.users, "w") as f:
            for user, home in sorted(self.homes.items()):
                f.write("%s:%s:%d:%d::%s::\n" % (user, hashed, uid, gid, home))
        # Read by the auth processes, which run as default_internal_user.
        os.chown(self.users, 0, pwd.getpwnam("dovecot").pw_gid)
        os.chmod(self.users, 0o640)
        location = {"maildir": "maildir:~/Maildir",
                    "sdbox": "sdbox:~/sdbox"}[self.fmt]
        conf = f"""\
# Private Dovecot instance of petrel's bench/: LMTP and POP3 on loopback,
# one passwd-file user. Nothing here changes durability: mail_fsync is
# left at its default (optimized: the mail file is fsynced before the
# LMTP 250); auth_cache_size at its default (0: every login hashes).
base_dir = {self.run_dir}
state_dir = {self.state_dir}
instance_name = petrel-bench-{os.getpid()}-{self.fmt}
log_path = {self.log_path}
protocols = lmtp pop3
listen = 127.0.0.1
ssl = no
# The bench logs in over plaintext on loopback, as it does with petrel.
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {min(uid, 500)}
mail_location = {location}
passdb {{
  driver = passwd-file
  args = {self.users}
}}
userdb {{
  driver = passwd-file
  args = {self.users}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self, deadline):
        self.version = run_cmd([DOVECOT, "--version"], deadline).split()[0]
        self.write_config(deadline)
        run_cmd([DOVECOT, "-c", self.conf, "-n"], deadline)	# config check
        self.logf = open(os.path.join(self.base, "dovecot-stdout.log"), "ab")
        # -F: master stays our child, so it is stopped by its PID.
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        for port in (self.lmtp_port, self.pop3_port):
            if not wait_port(port, lambda: self.proc.poll() is None, deadline):
                raise BenchError("dovecot: not listening on %d\n%s"
                                 % (port, self.read_log()))

    def root_pid(self):
        return self.proc.pid

    def is_drained(self):
        return True

    def inbox_count(self, deadline, user=RCPT):
        """user's INBOX message count, as Dovecot itself sees it."""
        out = run_cmd([DOVEADM, "-c", self.conf, "-f", "flow", "mailbox", "status",
                       "-u", user, "messages", "INBOX"], deadline)
        m = re.search(r"messages=(\d+)", out)
        if not m:
            raise BenchError("doveadm mailbox status: unexpected output %r" % out[:200])
        return int(m.group(1))

    def files_count(self, user=RCPT):
        """Mail files in user's INBOX: a cheap progress count, polled while
        mail arrives (doveadm costs a process each time).  A file appears
        just before Dovecot's index has it; inbox_count() confirms."""
        home = self.homes[user]
        if self.fmt == "maildir":
            dirs = [os.path.join(home, "Maildir", d) for d in ("new", "cur")]
            prefix = ""
        else:
            dirs = [os.path.join(home, "sdbox", "mailboxes", "INBOX", "dbox-Mails")]
            prefix = "u."
        n = 0
        for d in dirs:
            try:
                with os.scandir(d) as it:
                    n += sum(1 for e in it if e.name.startswith(prefix))
            except FileNotFoundError:
                pass
        return n

    def read_log(self, tail=4000):
        """The end of Dovecot's log without its Info lines (one per
        connection and per delivery): the warnings and errors."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - (4 << 20)))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [l for l in text.splitlines() if ": Info: " not in l]
        return "\n".join(lines)[-tail:]

    def stop(self):
        if self.proc is None:
            return
        # The instance's processes, each named by PID and start time.
        procs = {pid: proc_starttime(pid) for pid in process_tree(self.proc.pid)}
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log("dovecot: master %d did not stop, killing it" % self.proc.pid)
                self.proc.kill()
                self.proc.wait()
        end = time.monotonic() + 5
        while time.monotonic() < end and any(
                st is not None and proc_starttime(pid) == st for pid, st in procs.items()):
            time.sleep(0.1)
        for pid, st in procs.items():
            if st is not None and proc_starttime(pid) == st:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if self.logf:
            self.logf.close()
            self.logf = None

    def describe(self):
        return "dovecot %s (%s)" % (self.version, self.fmt)


class FsImage:
    """A fresh ext4 filesystem with a journal in a sparse file under the
    bench's directory, loop-mounted for the run (--fs-image, root only).
    Both servers then write to the same clean, production-like filesystem,
    whatever the one under /var/tmp is and whatever else runs beside it."""

    def __init__(self, base, megabytes):
        self.image = os.path.join(base, "fs.img")
        self.mnt = os.path.join(base, "fs")
        self.megabytes = megabytes

    def mount(self, deadline):
        with open(self.image, "wb") as f:
            f.truncate(self.megabytes * 1024 * 1024)
        # Inode tables and journal initialised now, not lazily during the run.
        run_cmd([MKFS_EXT4, "-q", "-F", "-O", "has_journal",
                 "-E", "lazy_itable_init=0,lazy_journal_init=0", self.image],
                deadline, timeout=120)
        os.mkdir(self.mnt)
        run_cmd([MOUNT, "-o", "loop", self.image, self.mnt], deadline)
        os.chmod(self.mnt, 0o755)
        return self.mnt

    def unmount(self):
        """Unmounts (the loop device detaches itself: autoclear)."""
        # By the mount table, not a flag: a signal may have come between
        # mount(8) finishing and the flag being set.
        if not os.path.isdir(self.mnt) or not os.path.ismount(self.mnt):
            return
        for _ in range(10):
            r = subprocess.run([UMOUNT, self.mnt], capture_output=True, text=True,
                               timeout=60)
            if r.returncode == 0:
                return
            time.sleep(0.5)
        log("could not unmount %s: %s" % (self.mnt, r.stderr.strip()))


# --- load -------------------------------------------------------------------------

def wait_idle(server, deadline, limit=60.0):
    """Waits until the server has drained its work: queue empty (where the
    harness can see it) and under 20 ms of CPU in each of two 0.5 s windows.
    Returns the server's CPU seconds at that point."""
    end = time.monotonic() + deadline.left(limit)
    quiet = 0
    last = server_cpu_seconds(server)
    while time.monotonic() < end:
        time.sleep(0.5)
        now = server_cpu_seconds(server)
        quiet = quiet + 1 if now - last <= 0.02 and server.is_drained() else 0
        last = now
        if quiet >= 2:
            return now
    log("%s: still busy after %.0f s; measuring anyway" % (server.name, limit))
    return last


class Child:
    """The one load-generator child running at a time, for the cleanup."""
    proc = None

    @classmethod
    def kill(cls):
        """Kills it (its own session, started by us) and reaps it."""
        if cls.proc is not None and cls.proc.poll() is None:
            try:
                os.killpg(cls.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            cls.proc.wait()
        cls.proc = None


def smtp_source_args(port, n, connections, size, extra=()):
    """smtp-source sending n messages of size body bytes to RCPT over
    `connections` connections, each kept open for many messages (-d);
    extra: more options (-L for LMTP, -r K for K recipients)."""
    return [SMTP_SOURCE, "-s", str(connections), "-d", "-m", str(n), "-l", str(size),
            "-M", "client." + DOMAIN, "-f", SENDER, "-t", RCPT] + list(extra) + \
        ["127.0.0.1:%d" % port]


def smtp_source_start(port, n, connections, size, extra=()):
    """Starts smtp-source as Child.proc (its own session, output piped)."""
    Child.proc = subprocess.Popen(smtp_source_args(port, n, connections, size, extra),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    return Child.proc


def smtp_source_finish(name, deadline):
    """Waits for Child.proc, the smtp-source started last; raises BenchError
    unless it exited 0 (every message got its positive reply)."""
    try:
        out, _ = Child.proc.communicate(timeout=deadline.left())
    except subprocess.TimeoutExpired:
        raise Interrupted("global timeout reached during smtp-source")
    rc = Child.proc.returncode
    Child.proc = None
    if rc != 0:
        raise BenchError("%s: smtp-source exit %d: %s"
                         % (name, rc, out.decode("utf-8", "replace")[-2000:]))


def smtp_source(server, n, connections, size, deadline):
    """Runs smtp-source; returns wall seconds.  smtp-source exits non-zero on
    any reply that is not positive (it is not given -A), so a successful run
    means n messages got 250 after DATA."""
    args = smtp_source_args(server.port, n, connections, size)
    t0 = time.monotonic()
    Child.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = Child.proc.communicate(timeout=deadline.left())
    except subprocess.TimeoutExpired:
        raise Interrupted("global timeout reached during smtp-source")
    elapsed = time.monotonic() - t0
    rc = Child.proc.returncode
    Child.proc = None
    if rc != 0:
        raise BenchError("%s: smtp-source exit %d: %s" % (server.name, rc,
                                                          out.decode("utf-8", "replace")[-2000:]))
    return elapsed


def make_message(size):
    """Header template (with a %d for the Message-ID) and a body of size
    bytes (size - 1 when that would leave a lone byte), in 78-byte CRLF
    lines, as smtp-source's -l also counts only the body."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: petrel bench\r\n"
            "Date: %s\r\nMessage-ID: <%%d@client.%s>\r\n\r\n"
            % (SENDER, RCPT, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
               DOMAIN))
    line = "abcdefghijklmnopqrstuvwxyz0123456789" * 3
    line = line[:76] + "\r\n"
    body = line * (size // len(line))
    rest = size % len(line)
    if rest >= 2:
        body += line[:rest - 2] + "\r\n"
    return head, body


MAX_REPLY = 64 * 1024	# bytes of one reply, all its lines; ours are tiny


class SmtpClientConn:
    """One SMTP connection of the latency client: a state machine driven by
    the selector loop, no pipelining (each command waits for its reply, as a
    plain MTA client does).  Sends `count` messages, RSET between them."""

    def __init__(self, idx, port, count, head, body):
        self.idx = idx
        self.count = count
        self.sent = 0
        self.head = head
        self.body = body
        self.latencies = []
        self.inbuf = b""
        self.reply_lines = []
        self.outbuf = b""
        self.expect = (220, "greeting")
        self.after = self.on_greeting
        self.t0 = 0.0
        self.done = False
        self.last_progress = time.monotonic()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))

    def fail(self, why):
        raise BenchError("connection %d: %s" % (self.idx, why))

    def send(self, data, expect, what, after):
        self.outbuf += data
        self.expect = (expect, what)
        self.after = after

    def on_greeting(self):
        self.send(b"EHLO client." + DOMAIN.encode() + b"\r\n", 250, "EHLO", self.next_message)

    def next_message(self):
        if self.sent == self.count:
            self.send(b"QUIT\r\n", 221, "QUIT", self.on_quit)
            return
        self.t0 = time.perf_counter()
        self.send(b"MAIL FROM:<" + SENDER.encode() + b">\r\n", 250, "MAIL", self.on_mail)

    def on_mail(self):
        self.send(b"RCPT TO:<" + RCPT.encode() + b">\r\n", 250, "RCPT", self.on_rcpt)

    def on_rcpt(self):
        self.send(b"DATA\r\n", 354, "DATA", self.on_data)

    def on_data(self):
        msg = (self.head % (self.idx * 10_000_000 + self.sent) + self.body).encode("ascii")
        # Dot-stuffing, RFC 5321 §4.5.2 (the generated text never needs it,
        # but -s may one day feed other text through here).
        if msg.startswith(b"."):
            msg = b"." + msg
        msg = msg.replace(b"\r\n.", b"\r\n..")
        self.send(msg + b".\r\n", 250, "end of DATA", self.on_queued)

    def on_queued(self):
        self.latencies.append(time.perf_counter() - self.t0)
        self.sent += 1
        self.send(b"RSET\r\n", 250, "RSET", self.next_message)

    def on_quit(self):
        self.done = True

    def on_readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.fail("read: %s" % e)
        if not data:
            self.fail("server closed the connection (waiting for %s reply)" % self.expect[1])
        self.last_progress = time.monotonic()
        self.inbuf += data
        while b"\r\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\r\n", 1)
            self.reply_lines.append(line)
            if sum(len(x) + 2 for x in self.reply_lines) > MAX_REPLY:
                self.fail("reply over %d bytes" % MAX_REPLY)
            # RFC 5321 §4.2.1: "xyz-" continues a reply, "xyz " or "xyz" ends it.
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                self.fail("malformed reply line %r" % line[:100])
            if line[3:4] == b"-":
                continue
            code = int(line[:3])
            lines, self.reply_lines = self.reply_lines, []
            want, what = self.expect
            if code != want and not (want == 250 and code == 251):
                self.fail("%s: expected %d, got %r" % (what, want, lines[-1][:200]))
            if self.inbuf:
                # Without pipelining a server has nothing more to say yet.
                self.fail("unexpected bytes after the %s reply: %r" % (what, self.inbuf[:100]))
            self.after()
        if len(self.inbuf) > MAX_REPLY:
            self.fail("reply line over %d bytes" % MAX_REPLY)

    def on_writable(self):
        try:
            n = self.sock.send(self.outbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.fail("write: %s" % e)
        self.outbuf = self.outbuf[n:]
        self.last_progress = time.monotonic()


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]




def filesystem_of(path):
    """(description, ext4_without_journal) of the mount holding path, e.g.
    ("ext4 /dev/vda, no journal", True), from /proc/mounts and sysfs."""
    best, fstype, dev = "", "?", "?"
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                d, mnt, t = line.split()[:3]
                mnt = mnt.replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) \
                        and len(mnt) >= len(best):
                    best, fstype, dev = mnt, t, d
    except OSError:
        pass
    what = "%s %s" % (fstype, dev)
    if fstype != "ext4":
        return what, False
    try:
        with open("/sys/fs/ext4/%s/journal_task" % os.path.basename(dev)) as f:
            no_journal = f.read().strip() == "<none>"
    except OSError:
        return what, False
    return what + (", no journal" if no_journal else ", journal"), no_journal




def bounded_int(lo, hi):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a number: %r" % text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError("must be %d..%d" % (lo, hi))
        return v
    return parse




# --- mailboxes ----------------------------------------------------------------------

def pop3_stat(port, user, password, timeout=30):
    """(messages, octets) of user's maildrop by POP3 STAT on 127.0.0.1:port
    (USER/PASS over plaintext: both servers allow it on loopback)."""
    try:
        p = poplib.POP3("127.0.0.1", port, timeout=timeout)
        try:
            p.user(user)
            p.pass_(password)
            n, size = p.stat()
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                p.close()
    except (poplib.error_proto, OSError) as e:
        raise BenchError("POP3 STAT of %s on port %d: %s" % (user, port, e))
    return n, size


class PetrelInbox:
    """Counts the messages in one petrel account's INBOX, the way a client
    would see them: from DATA/accounts/<id>/index.db (SQLite, opened
    read-only; a query sees every committed transaction), or, when this
    petrel has no such index, by POP3 STAT.  The index is cheap enough to
    poll every few milliseconds; a POP3 login costs an Argon2id hash on
    the server, so that fallback is polled slowly and says so."""

    def __init__(self, server, address, deadline):
        self.server = server
        self.address = address
        self.account = server.account_id(address, deadline)
        self.path = os.path.join(server.data, "accounts", str(self.account), "index.db")
        self.db = None
        self.sql = self.sql_rows = None
        self.method = None

    def _open_index(self):
        """The count query, once index.db exists with a schema it knows:
        a mailbox table (id, name) and a message table referring to it."""
        if not os.path.exists(self.path):
            return False
        try:
            db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(self.path),
                                 uri=True, timeout=5, isolation_level=None)
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            cols = {t: {r[1] for r in db.execute("PRAGMA table_info(%s)" % t)}
                    for t in tables if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t)}
        except sqlite3.Error:
            return False
        mbox = next((t for t in ("mailboxes", "mailbox") if t in cols
                     and {"id", "name"} <= cols[t]), None)
        msgs = next((t for t in ("messages", "message") if t in cols), None)
        ref = next((c for c in ("mailbox_id", "mailbox") if msgs and c in cols[msgs]), None)
        if not (mbox and msgs and ref):
            db.close()
            return False
        self.db = db
        self.sql_rows = ("SELECT count(*) FROM %s WHERE %s = "
                         "(SELECT id FROM %s WHERE upper(name) = 'INBOX')"
                         % (msgs, ref, mbox))
        # The count the store keeps per mailbox (updated by a trigger in
        # the same transaction, what STATUS reports): one row to read,
        # where counting rows costs in proportion to the mailbox.
        self.sql = self.sql_rows if "messages" not in cols[mbox] else \
            "SELECT messages FROM %s WHERE upper(name) = 'INBOX'" % mbox
        self.method = "index.db"
        return True

    def count(self, rows=False):
        """INBOX's message count, or None when there is no way to tell yet
        (no index.db with a known schema, and no POP3 served).  rows: count
        the message rows rather than read the mailbox's counter."""
        if self.db is None and not self._open_index():
            if "pop3" in self.server.ports and self.server.serves("pop3"):
                self.method = "POP3 STAT"
                return pop3_stat(self.server.ports["pop3"], self.address,
                                 self.server.password)[0]
            return None
        try:
            row = self.db.execute(self.sql_rows if rows else self.sql).fetchone()
            return row[0] if row else 0
        except sqlite3.Error as e:
            raise BenchError("petrel: counting INBOX in %s: %s" % (self.path, e))

    def poll_interval(self, fast):
        """Seconds between counts: fast for the index, 0.5 s for POP3."""
        return fast if self.method == "index.db" else 0.5

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None


# --- memory and file descriptors ------------------------------------------------------

def pss_kib(pid):
    """Proportional set size of pid in KiB, from /proc/<pid>/smaps_rollup
    (pages shared with other processes counted by their share), or 0 when
    the process is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def server_pss_kib(server):
    """PSS in KiB summed over every process of a server under test (the
    tree of root_pid(), or of each of root_pids()): all of Dovecot's login,
    imap and auth processes, petrel's one process."""
    roots = server.root_pids() if hasattr(server, "root_pids") else [server.root_pid()]
    snap = process_snapshot()
    pids = set()
    for root in roots:
        pids |= process_tree(root, snap)
    return sum(pss_kib(pid) for pid in pids)


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE to at least want (soft and hard;
    raising the hard limit needs root, and /proc/sys/fs/nr_open bounds it).
    Children started afterwards inherit it.  Returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    if hard < want and os.geteuid() == 0:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                cap = int(f.read())
        except (OSError, ValueError):
            cap = want
        hard = max(hard, min(want, cap))
    soft = min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft
