"""`250 queued` means on disk: the system calls, seen with strace, happen in
the order DESIGN.md §3 promises: fsync(file) → rename into msg/ →
fsync(msg/) → fdatasync of the queue database's WAL → the 250 reply."""
import os
import re
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import make_petrel

CALL = re.compile(r"(\d+)\s+(\w+)\((.*?)(?: <unfinished \.\.\.>|\) += (-?\d+).*)$")
RESUMED = re.compile(r"(\d+)\s+<\.\.\. (\w+) resumed>.*\) += (-?\d+)")


def completed_calls(lines):
    """(line index, call, first argument text, return value) of each system
    call, placed where it returned; and the fd each path was opened as."""
    done, pending, fds = [], {}, {}
    for i, line in enumerate(lines):
        r = RESUMED.match(line)
        if r:
            arg = pending.pop((r.group(1), r.group(2)))
            done.append((i, r.group(2), arg, int(r.group(3))))
            continue
        m = CALL.match(line)
        if not m:
            continue
        pid, call, arg, ret = m.groups()
        if ret is None:
            pending[(pid, call)] = arg
            continue
        done.append((i, call, arg, int(ret)))
        if call == "openat" and int(ret) >= 0:
            path = re.search(r'"([^"]*)"', arg).group(1)
            # The first opening names the fd: later ones (local delivery
            # reading the queued file) do not.
            fds.setdefault(path, ret)
    return done, fds


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_reply_follows_fsyncs_in_order(tmp_path_factory):
    p = make_petrel(tmp_path_factory)
    trace = os.path.join(p.data, "strace.out")
    # LeakSanitizer cannot run under ptrace; the other tests check leaks.
    p.start(env={"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"})
    tracer = subprocess.Popen(
        ["strace", "-f", "-qq", "-s", "128", "-p", str(p.proc.pid), "-o", trace, "-e", "signal=none",
         "-e", "trace=openat,fsync,fdatasync,renameat2,sendto"],
        stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)      # strace attaches to every thread
        # What the daemon opened before strace came: its fds by path.
        fd_dir = "/proc/%d/fd" % p.proc.pid
        opened, all_fds = {}, []
        for fd in os.listdir(fd_dir):
            try:
                path = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            opened[path] = fd
            all_fds.append((path, fd))
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as s:
            s.ehlo("client.test")
            s.mail("a@sender.test")
            s.rcpt("bob@example.org")
            code, resp = s.data(b"Subject: order\r\n\r\nx\r\n")
        assert code == 250
        qid = re.search(r"queued as (\S+)", resp.decode()).group(1)
    finally:
        assert p.stop() == 0
        tracer.wait(timeout=30)

    done, fds = completed_calls(open(trace).read().splitlines())
    fds = dict(opened, **fds)
    msg_fd = fds[os.path.realpath(os.path.join(p.data, "queue", "msg"))]
    file_fd = fds[qid]                  # openat(tmp dir fd, "<qid>", O_CREAT...)
    # Several connections have the WAL open (committer, readers, delivery).
    wal_fds = {fd for path, fd in list(fds.items()) + all_fds
               if path.endswith("queue/queue.db-wal")}

    def where(pred):
        return [i for i, call, arg, ret in done if pred(call, arg, ret)]

    reply = where(lambda c, a, r: c == "sendto" and "queued as " + qid in a)[0]
    rename = where(lambda c, a, r: c == "renameat2" and qid in a and r == 0)[0]
    created = where(lambda c, a, r: c == "openat" and '"%s"' % qid in a and r >= 0)[0]
    # The first fsync of the file's fd after it was created (the number is
    # reused later, e.g. by local delivery).
    file_sync = min(i for i in where(lambda c, a, r: c == "fsync" and a == file_fd and r == 0)
                    if i > created)
    dir_sync = [i for i in where(lambda c, a, r: c == "fsync" and a == msg_fd and r == 0)
                if i > rename][0]
    wal_sync = [i for i in where(lambda c, a, r: c == "fdatasync" and a in wal_fds and r == 0)
                if i > dir_sync][0]
    assert file_sync < rename < dir_sync < wal_sync < reply
