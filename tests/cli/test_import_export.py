"""`petrel import maildir|mbox` and `petrel export`: a Dovecot-style Maildir
(cur/ new/, flags, dovecot-keywords, dovecot-uidlist, Maildir++ subfolders
with non-ASCII names, subscriptions) comes in losslessly, a re-run or an
interrupted run leaves no duplicates, an export imports back into another
account as the same state, and mbox files come in with their flags."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import PETREL, make_petrel

USERS = ("bob@example.org", "carol@example.org", "dave@example.org",
         "erin@example.org", "frank@example.org", "gina@example.org",
         "hank@example.org")

# Flag bits of store.h.
SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    return make_petrel(tmp_path_factory, users=USERS)


def crlf(data):
    """What the store keeps of a Maildir file: bare LF made CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


_account_dirs = {}


def account_dir(p, address):
    if (p.data, address) not in _account_dirs:
        _account_dirs[p.data, address] = os.path.join(
            p.data, "accounts", str(p.cli("user", "show", address, json_out=True)["id"]))
    return _account_dirs[p.data, address]


def state(p, address):
    """Everything an import must keep, per mailbox, from the index (read-only):
    {name: {"uidvalidity", "uidnext", "messages": [(uid, flags, keywords,
    internal_date, bytes)]}} and the subscriptions."""
    acct = account_dir(p, address)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(acct, "index.db"), uri=True,
                         timeout=10)
    try:
        boxes = {}
        for mid, name, uv, un in db.execute(
                "SELECT id, name, uidvalidity, uidnext FROM mailboxes"):
            msgs = []
            for uid, flags, kw, date, f in db.execute(
                    "SELECT uid, flags, keywords, internal_date, file FROM messages"
                    " WHERE mailbox_id = ? ORDER BY uid", (mid,)):
                data = open(os.path.join(acct, "msg", f), "rb").read()
                msgs.append((uid, flags, " ".join(sorted((kw or "").split())), date,
                             data))
            boxes[name] = {"uidvalidity": uv, "uidnext": un, "messages": msgs}
        subs = sorted(r[0] for r in db.execute("SELECT name FROM subscriptions"))
    finally:
        db.close()
    return boxes, subs


def write(path, data, mtime):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def maildir_folder(root, dirname):
    path = os.path.join(root, dirname) if dirname else root
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    return path


def message(n, lf=True):
    text = ("From: Alice <alice@example.org>\nTo: bob@example.org\n"
            "Subject: message %d\nMessage-ID: <m%d@example.org>\n\n"
            "Body of message %d.\nSecond line.\n" % (n, n, n)).encode()
    return text if lf else text.replace(b"\n", b"\r\n")


def build_dovecot_maildir(root):
    """A Maildir as Dovecot leaves it. Returns what the import must produce:
    {mailbox: {"uidvalidity", "uidnext_min", "messages": {uid or None: (flags,
    keywords, mtime, bytes)}}} and the subscriptions."""
    want = {}
    # INBOX: three listed in the uidlist (one of them CRLF already, one in
    # new/), one not listed (gets a UID from N on).
    inbox = maildir_folder(root, "")
    files = [
        ("cur", "1600000001.M1P1.mx,S=100,W=104:2,RS", 101, SEEN | ANSWERED, "", True),
        ("cur", "1600000002.M2P1.mx:2,FPab", 105, FLAGGED, "$Forwarded $Junk NonJunk",
         False),
        ("new", "1600000003.M3P1.mx", 107, 0, "", True),
        ("cur", "1600000004.M4P1.mx:2,DST", None, DRAFT | SEEN | DELETED, "", True),
    ]
    msgs = {}
    for i, (sub, name, uid, flags, kw, lf) in enumerate(files):
        data = message(i, lf)
        mtime = 1500000000 + i * 1000
        write(os.path.join(inbox, sub, name), data, mtime)
        msgs[uid] = (flags, kw, mtime, crlf(data))
    open(os.path.join(inbox, "dovecot-uidlist"), "w").write(
        "3 V1275660208 N110 G3085f01b7f11094c501100008c4a11c1\n"
        "101 :1600000001.M1P1.mx,S=100,W=104:2,RS\n"
        "105 W2481 :1600000002.M2P1.mx:2,F\n"
        "107 :1600000003.M3P1.mx\n")
    open(os.path.join(inbox, "dovecot-keywords"), "w").write("0 $Junk\n1 NonJunk\n")
    open(os.path.join(inbox, "dovecot-uidvalidity"), "w").write("5f5e1000")
    want["INBOX"] = {"uidvalidity": 1275660208, "uidnext_min": 111, "messages": msgs}

    folders = [
        (".Sent", "Sent", 3000),
        (".Entw&APw-rfe", "Entwürfe", 3001),
        (".&ZeVnLIqe-", "日本語", 3002),
        (".Work.Projects", "Work/Projects", 3003),     # no ".Work" of its own
    ]
    for k, (dirname, name, uv) in enumerate(folders):
        path = maildir_folder(root, dirname)
        open(os.path.join(path, "maildirfolder"), "w").close()
        msgs = {}
        lines = ["3 V%d N%d G00000000000000000000000000000000" % (uv, 10 + k)]
        for j in range(3):
            n = 100 + k * 10 + j
            uid = 2 + j * 3
            name_ = "17000%05d.M%dP2.mx:2,%s" % (n, n, "S" if j else "")
            data = message(n)
            write(os.path.join(path, "cur", name_), data, 1400000000 + n)
            lines.append("%d :%s" % (uid, name_))
            msgs[uid] = (SEEN if j else 0, "", 1400000000 + n, crlf(data))
        open(os.path.join(path, "dovecot-uidlist"), "w").write("\n".join(lines) + "\n")
        want[name] = {"uidvalidity": uv, "uidnext_min": 9, "messages": msgs}
    # Dovecot 2.3's version 2 subscriptions file.
    open(os.path.join(root, "subscriptions"), "w").write(
        "V\t2\n\nINBOX\nSent\nEntw&APw-rfe\nWork\tProjects\nGone\n")
    subs = ["Entwürfe", "Gone", "INBOX", "Sent", "Work/Projects"]
    return want, subs


def check_imported(p, address, want, subs, prefix=None):
    boxes, got_subs = state(p, address)
    for name, w in want.items():
        target = name if prefix is None else (
            prefix if name == "INBOX" else prefix + "/" + name)
        assert target in boxes, (target, sorted(boxes))
        box = boxes[target]
        assert box["uidvalidity"] == w["uidvalidity"], target
        assert box["uidnext"] >= w["uidnext_min"], target
        got = {m[0]: m for m in box["messages"]}
        assert len(got) == len(w["messages"]), target
        unlisted = [v for k, v in w["messages"].items() if k is None]
        for uid, (flags, kw, mtime, data) in w["messages"].items():
            if uid is None:
                continue
            assert uid in got, (target, uid, sorted(got))
            _, gflags, gkw, gdate, gdata = got[uid]
            assert (gflags, gkw, gdate) == (flags, kw, mtime), (target, uid)
            assert gdata == data, (target, uid)
        # Messages the uidlist does not list come after N (Dovecot's next UID).
        extra = [m for u, m in got.items() if u not in w["messages"]]
        assert len(extra) == len(unlisted)
        for m, (flags, kw, mtime, data) in zip(extra, unlisted):
            assert m[0] >= w["uidnext_min"] - 1
            assert (m[1], m[2], m[3], m[4]) == (flags, kw, mtime, data)
    if prefix is None:
        for s in subs:
            assert s in got_subs, (s, got_subs)
    return boxes


def run_import(p, *args, check=True):
    r = p.cli("import", *args, check=check)
    return r


def test_import_dovecot_maildir(p, tmp_path):
    root = str(tmp_path / "Maildir")
    want, subs = build_dovecot_maildir(root)
    r = run_import(p, "maildir", root, "bob@example.org", "--quiet")
    assert "imported 16 messages (0 skipped as already present) into 5 folders" \
        in r.stdout, r.stdout + r.stderr
    assert r.stderr == "", r.stderr
    boxes = check_imported(p, "bob@example.org", want, subs)
    assert "Work" in boxes          # the parent, created with its child
    # Bytes identical after LF -> CRLF; the CRLF file unchanged.
    assert all(b"\r\n" in m[4] and b"\n" not in m[4].replace(b"\r\n", b"")
               for m in boxes["INBOX"]["messages"])

    # Again: nothing new, nothing doubled.
    r = p.cli("import", "maildir", root, "bob@example.org", json_out=True)
    assert (r["imported"], r["skipped"], r["failed"], r["folders"]) == (0, 16, 0, 5)
    assert r["stopped"] is None
    again, _ = state(p, "bob@example.org")
    assert again == boxes


def test_import_mailcow_home_and_folder(p, tmp_path):
    """A mailbox home holding Maildir/ (mailcow, Dovecot ~/Maildir), into
    --folder: INBOX becomes the folder, subfolders go under it."""
    home = tmp_path / "example.org" / "carol"
    want, subs = build_dovecot_maildir(str(home / "Maildir"))
    os.makedirs(str(home / "sieve"))
    r = run_import(p, "maildir", str(home), "carol@example.org", "--folder",
                   "Old Mail", "--quiet")
    assert "imported 16 messages" in r.stdout, r.stdout + r.stderr
    check_imported(p, "carol@example.org", want, subs, prefix="Old Mail")
    _, got_subs = state(p, "carol@example.org")
    assert "Old Mail/Entwürfe" in got_subs and "Old Mail/Work/Projects" in got_subs


def test_unreadable_and_broken_input(p, tmp_path):
    root = str(tmp_path / "md")
    maildir_folder(root, "")
    write(os.path.join(root, "cur", "1.M1P1.x:2,S"), message(1), 1500000000)
    write(os.path.join(root, "cur", "2.M2P1.x:2,S"), message(2), 1500000000)
    os.chmod(os.path.join(root, "cur", "2.M2P1.x:2,S"), 0)
    write(os.path.join(root, "cur", "3.M3P1.x:2,S"), b"", 1500000000)     # empty
    os.makedirs(os.path.join(root, "cur", "4.M4P1.x:2,S"))                # a directory
    write(os.path.join(root, "cur", ".hidden"), message(5), 1500000000)   # not mail
    write(os.path.join(root, "tmp", "6.M6P1.x"), message(6), 1500000000)  # in delivery
    open(os.path.join(root, "dovecot-uidlist"), "w").write("garbage\n")
    maildir_folder(root, ".a..b")                                         # bad name
    r = run_import(p, "maildir", root, "dave@example.org", "--quiet", check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    readable = os.access(os.path.join(root, "cur", "2.M2P1.x:2,S"), os.R_OK)  # root
    n_ok = 2 if readable else 1
    assert "imported %d message" % n_ok in r.stdout, r.stdout
    assert "3.M3P1.x:2,S: not imported" in r.stderr
    assert "4.M4P1.x:2,S: not imported: not a regular file" in r.stderr
    assert "dovecot-uidlist: not a dovecot-uidlist header" in r.stderr
    assert ".a..b" in r.stderr
    if not readable:
        assert "2.M2P1.x:2,S: not imported: Permission denied" in r.stderr
    boxes, _ = state(p, "dave@example.org")
    assert len(boxes["INBOX"]["messages"]) == n_ok


def make_big_maildir(root, n):
    maildir_folder(root, "")
    lines = ["3 V424242 N%d Gx" % (n + 1)]
    for i in range(n):
        name = "16%08d.M%dP9.mx" % (i, i)
        with open(os.path.join(root, "cur", name + ":2,S"), "wb") as f:
            f.write(message(i) + b"x" * 2000 + b"\n")
        lines.append("%d :%s" % (i + 1, name))
    open(os.path.join(root, "dovecot-uidlist"), "w").write("\n".join(lines) + "\n")


def count_messages(p, address):
    acct = account_dir(p, address)
    try:
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(acct, "index.db"),
                             uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def start_import(p, root, address):
    return subprocess.Popen([PETREL, "-c", p.conf, "import", "maildir", root, address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_count(p, address, at_least, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = count_messages(p, address)
        if n >= at_least:
            return n
        assert proc.poll() is None, "import ended before it was interrupted"
        time.sleep(0.01)
    raise AssertionError("import made no progress")


def check_complete(p, address, n):
    boxes, _ = state(p, address)
    msgs = boxes["INBOX"]["messages"]
    assert [m[0] for m in msgs] == list(range(1, n + 1))
    ids = [m[4].split(b"Message-ID: ")[1].split(b"\r\n")[0] for m in msgs]
    assert len(set(ids)) == n
    assert boxes["INBOX"]["uidvalidity"] == 424242


@pytest.mark.parametrize("sig,address", [(signal.SIGKILL, "erin@example.org"),
                                         (signal.SIGINT, "frank@example.org")])
def test_interrupted_import_completes(p, tmp_path, sig, address):
    n = 3000
    root = str(tmp_path / "big")
    make_big_maildir(root, n)
    proc = start_import(p, root, address)
    done = wait_count(p, address, 200, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        # Stops between two messages with the open batch committed.
        assert proc.returncode == 1, out + err
        assert "interrupted; run the same command again" in err
        assert "imported" in out
    else:
        assert proc.returncode == -signal.SIGKILL
    partial = count_messages(p, address)
    assert done <= partial < n, (done, partial)
    r = p.cli("import", "maildir", root, address, "--quiet")
    assert "imported %d messages (%d skipped as already present)" % (
        n - partial, partial) in r.stdout, r.stdout
    check_complete(p, address, n)
    # The files of the batch the kill cut off are gone again (the store
    # removes files no committed row names).
    acct = account_dir(p, address)
    files = sum(len(f) for d, _, f in os.walk(os.path.join(acct, "msg")))
    assert files == n


def test_quota_stops_import(p, tmp_path):
    root = str(tmp_path / "md")
    maildir_folder(root, "")
    for i in range(5):
        write(os.path.join(root, "cur", "%d.M%dP1.x:2," % (i, i)), message(i) +
              b"y" * 1000, 1500000000 + i)
    p.cli("user", "quota", "gina@example.org", "3K")
    r = run_import(p, "maildir", root, "gina@example.org", "--quiet", check=False)
    assert r.returncode == 1
    assert "imported 2 messages" in r.stdout, r.stdout
    assert "2.M2P1.x:2,: not imported" in r.stderr and "quota" in r.stderr, r.stderr
    assert len(state(p, "gina@example.org")[0]["INBOX"]["messages"]) == 2
    p.cli("user", "quota", "gina@example.org", "none")
    r = run_import(p, "maildir", root, "gina@example.org", "--quiet")
    assert "imported 3 messages (2 skipped as already present)" in r.stdout


def test_export_reimport_same_state(p, tmp_path):
    """bob's mail (imported above) out to a Maildir and into hank: the same
    mailboxes, UIDVALIDITYs, UIDs, flags, keywords, dates and bytes."""
    out = str(tmp_path / "export")
    r = p.cli("export", "bob@example.org", out, json_out=True)
    assert r["exported"] == 16 and r["failed"] == 0 and r["stopped"] is None
    # Dovecot's layout and files.
    assert os.path.isdir(os.path.join(out, ".Entw&APw-rfe", "cur"))
    assert os.path.isdir(os.path.join(out, ".&ZeVnLIqe-", "cur"))
    assert os.path.isdir(os.path.join(out, ".Work.Projects", "cur"))
    assert os.path.exists(os.path.join(out, ".Sent", "maildirfolder"))
    uidlist = open(os.path.join(out, "dovecot-uidlist")).read().splitlines()
    assert uidlist[0].startswith("3 V1275660208 N")
    kw = open(os.path.join(out, "dovecot-keywords")).read()
    assert "$Junk" in kw and "NonJunk" in kw and "$Forwarded" in kw
    subs = open(os.path.join(out, "subscriptions")).read()
    assert subs.startswith("V\t2\n\n") and "Work\tProjects\n" in subs
    assert "Entw&APw-rfe\n" in subs
    src, src_subs = state(p, "bob@example.org")
    for line in uidlist[1:]:
        uid, name = line.split(" :", 1)
        path = os.path.join(out, "cur", name)
        m = next(m for m in src["INBOX"]["messages"] if m[0] == int(uid))
        assert open(path, "rb").read() == m[4]              # bytes as stored
        assert int(os.stat(path).st_mtime) == m[3]          # INTERNALDATE
        assert name.startswith("%d.M%sV1275660208.petrel,S=%d,W=%d:2," % (
            m[3], uid, len(m[4]), len(m[4])))

    # A second export writes nothing.
    r = p.cli("export", "bob@example.org", out, json_out=True)
    assert (r["exported"], r["skipped"]) == (0, 16)

    r = run_import(p, "maildir", out, "hank@example.org", "--quiet")
    assert "imported 16 messages" in r.stdout, r.stdout + r.stderr
    dst, dst_subs = state(p, "hank@example.org")
    for name, box in src.items():
        assert name in dst
        if box["messages"]:
            assert dst[name]["uidvalidity"] == box["uidvalidity"], name
            assert dst[name]["messages"] == box["messages"], name
            assert dst[name]["uidnext"] == box["uidnext"], name
    assert dst_subs == src_subs


MBOX = (b"From alice@example.org Mon Jan  1 10:00:00 2024\n"
        b"X-IMAPbase: 1700000000 50\n"
        b"From: alice@example.org\nSubject: one\nStatus: RO\nX-Status: AF\n"
        b"X-Keywords: $Junk todo\nX-UID: 40\nContent-Length: 26\n\n"
        b"Hello\n>From the quote\n\n"
        b"From bob@example.org Tue Jan  2 11:30:00 2024 +0100\n"
        b"From: bob@example.org\nSubject: two\nStatus: O\nX-UID: 41\n\n"
        b"Hi\n>>From deeper\n\n"
        b"From carol Wed Jan  3 12:00:00 2024\n"
        b"From: carol@example.org\nSubject: three\n\nno flags\n")


def test_mbox_file(p, tmp_path):
    path = str(tmp_path / "inbox.mbox")
    open(path, "wb").write(MBOX)
    r = run_import(p, "mbox", path, "dave@example.org", "--folder", "Archive/2024",
                   "--quiet")
    assert "imported 3 messages" in r.stdout, r.stdout + r.stderr
    boxes, _ = state(p, "dave@example.org")
    box = boxes["Archive/2024"]
    assert box["uidvalidity"] == 1700000000
    msgs = box["messages"]
    assert [m[0] for m in msgs] == [40, 41, 50]
    assert msgs[0][1] == SEEN | ANSWERED | FLAGGED and msgs[0][2] == "$Junk todo"
    assert msgs[0][3] == 1704103200                       # the From_ line's date
    assert msgs[0][4] == (b"From: alice@example.org\r\nSubject: one\r\n\r\n"
                          b"Hello\r\nFrom the quote\r\n")
    assert msgs[1][1] == 0 and msgs[1][3] == 1704191400   # +0100 applied
    assert msgs[1][4].endswith(b"Hi\r\n>From deeper\r\n")
    assert msgs[2][4] == b"From: carol@example.org\r\nSubject: three\r\n\r\nno flags\r\n"
    r = run_import(p, "mbox", path, "dave@example.org", "--folder", "Archive/2024",
                   "--quiet")
    assert "imported 0 messages (3 skipped as already present)" in r.stdout


def test_mbox_directory(p, tmp_path):
    """A Thunderbird profile's Mail folder: Inbox, Sent, Lists.sbd/petrel, and
    index files that are not mail."""
    top = tmp_path / "Local Folders"
    os.makedirs(str(top / "Lists.sbd"))
    one = b"From x Mon Jan  1 10:00:00 2024\nSubject: a\nX-Mozilla-Status: 0001\n\nbody\n"
    open(str(top / "Inbox"), "wb").write(one)
    open(str(top / "Inbox.msf"), "wb").write(b"// <!-- <mdb:mork:z v=\"1.4\"/> -->")
    open(str(top / "Sent"), "wb").write(one + b"\n" + one.replace(b"Subject: a",
                                                                  b"Subject: b"))
    open(str(top / "Lists"), "wb").write(b"")
    open(str(top / "Lists.sbd" / "petrel"), "wb").write(one)
    open(str(top / "msgFilterRules.dat"), "wb").write(b"version=\"9\"\n")
    open(str(top / "notes.txt"), "wb").write(b"not an mbox\n")
    r = run_import(p, "mbox", str(top), "frank@example.org", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "imported 4 messages" in r.stdout, r.stdout + r.stderr
    assert "notes.txt: not an mbox file" in r.stderr
    boxes, _ = state(p, "frank@example.org")
    assert len(boxes["Sent"]["messages"]) == 2
    assert len(boxes["Lists/petrel"]["messages"]) == 1
    assert "Lists" in boxes and "notes.txt" not in boxes
    inbox = [m for m in boxes["INBOX"]["messages"] if b"Subject: a" in m[4]]
    assert inbox and inbox[0][1] == SEEN
    assert b"X-Mozilla-Status: 0001\r\n" in inbox[0][4]


def test_usage_errors(p, tmp_path):
    assert p.cli("import", check=False).returncode == 2
    assert p.cli("import", "pst", "x", "bob@example.org", check=False).returncode == 2
    assert p.cli("import", "maildir", str(tmp_path), check=False).returncode == 2
    assert p.cli("import", "maildir", "a", "b", "c", check=False).returncode == 2
    r = p.cli("import", "maildir", str(tmp_path), "bob@example.org", check=False)
    assert r.returncode == 1 and "is not a Maildir" in r.stderr
    root = str(tmp_path / "m")
    maildir_folder(root, "")
    r = p.cli("import", "maildir", root, "nobody@example.org", check=False)
    assert r.returncode == 1 and "nobody@example.org" in r.stderr
    r = p.cli("import", "maildir", root, "bob@example.org", "--folder", "a//b",
              check=False)
    assert r.returncode == 2
    assert p.cli("export", "bob@example.org", check=False).returncode == 2
    r = p.cli("export", "nobody@example.org", str(tmp_path / "x"), check=False)
    assert r.returncode == 1
