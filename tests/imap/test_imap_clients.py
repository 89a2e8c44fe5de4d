"""Real IMAP clients from Debian against the real daemon: mbsync both ways,
mutt in batch mode, fetchmail over STARTTLS and implicit TLS, offlineimap
one way. Mail gets in the production way (SMTP, queue, local delivery) or
by APPEND; what each client writes must be byte for byte what the store
holds (after the line-end conversion the client does by design)."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import serve
from clientlib import (append, big_message, cert_path, deliver, login,
                       make_imap_petrel, password)

MBSYNC, MUTT, FETCHMAIL, OFFLINEIMAP = "sync@example.org", "mutt@example.org", \
    "fetch@example.org", "oi@example.org"
SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16
MAILDIR_FLAGS = {"D": DRAFT, "F": FLAGGED, "R": ANSWERED, "S": SEEN, "T": DELETED}

EIGHT_BIT = (b"From: Alice <alice@sender.test>\r\nTo: x@example.org\r\n"
             b"Subject: %s\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n\r\n"
             b"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\r\n.\r\n..two dots\r\nFrom the start\r\n"
             b"last line\r\n")


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory,
                                      (MBSYNC, MUTT, FETCHMAIL, OFFLINEIMAP),
                                      limits={"max_message_size": "8M"}))


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip("%s not installed (scripts/install-deps)" % tool)


def run(args, tmp_path, timeout=120):
    try:
        r = subprocess.run(args, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL,
                           env=dict(os.environ, HOME=str(tmp_path), TERM="vt100"))
    except subprocess.TimeoutExpired as e:
        return "timeout", ((e.stdout or b"") + (e.stderr or b"")).decode("utf-8", "replace")
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def lf(data):
    return data.replace(b"\r\n", b"\n")


def flags_of(c, mailbox, uid):
    c.select('"%s"' % mailbox)
    typ, data = c.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK" and data[0], data
    return set(re.search(rb"FLAGS \(([^)]*)\)", data[0]).group(1).split())


# --- mbsync -----------------------------------------------------------------------

def maildir_files(root):
    """{relative path: bytes} of every message file under root."""
    out = {}
    for d, _, files in os.walk(root):
        if os.path.basename(d) in ("cur", "new"):
            for f in files:
                p = os.path.join(d, f)
                out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def folder_messages(root, folder):
    """[(file name, flag bits, bytes)] of one Maildir folder."""
    out = []
    for sub in ("cur", "new"):
        d = os.path.join(root, folder, sub)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else ():
            info = f.split(":2,")[1] if ":2," in f else ""
            bits = sum(MAILDIR_FLAGS.get(ch, 0) for ch in info)
            out.append((os.path.join(d, f), bits, open(os.path.join(d, f), "rb").read()))
    return out


def without_tuid(data):
    """mbsync inserts an X-TUID header into each message it copies (its
    own way to find the copy again); the rest must be untouched."""
    return re.sub(rb"X-TUID: [^\r\n]*\r?\n", b"", data, count=1)


def mbsync_config(p, tmp_path, user):
    root = tmp_path / "mail"
    root.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        "IMAPAccount petrel\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\n"
        "SSLType IMAPS\nCertificateFile %s\n\n"
        "IMAPStore far\nAccount petrel\n\n"
        "MaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
        "Channel c\nFar :far:\nNear :near:\nPatterns *\nCreate Both\n"
        "Expunge Both\nSyncState *\n"
        % (p.ports["imaps"], user, password(user), cert_path(p), root, root))
    return str(rc), str(root)


def assert_same(p, user, root, folders):
    """Every folder holds on both sides the same messages: bytes (LF and
    X-TUID apart) and flags."""
    for folder in folders:
        stored = p.mailbox(user, folder)
        local = folder_messages(root, folder)
        assert len(local) == len(stored), (folder, [x[0] for x in local])
        by_body = {without_tuid(lf(data)): bits for _, bits, data in local}
        for uid, flags, data in stored:
            body = without_tuid(lf(data))
            assert body in by_body, (folder, uid, body[:300])
            want = flags & (SEEN | ANSWERED | FLAGGED | DRAFT)
            assert by_body[body] == want, (folder, uid, by_body[body], flags)


def test_mbsync_both_ways(petrel, tmp_path):
    need("mbsync")
    p, u = petrel, MBSYNC
    inbox = [deliver(p, u, EIGHT_BIT % b"eight-bit"),
             deliver(p, u, big_message("large", 600_000)),
             deliver(p, u, b"Subject: plain\r\n\r\nno final newline")]
    c = login(p, u)
    for name in ("Work", "Work/Sub"):
        assert c.create(name)[0] == "OK"
    append(c, "Work", EIGHT_BIT % b"work one", r"(\Flagged $Label1)")
    append(c, "Work", b"Subject: work two\r\n\r\nbody\r\n", r"(\Seen \Answered)")
    append(c, "Work/Sub", big_message("sub large", 300_000), r"(\Draft)")
    c.select("INBOX")
    c.uid("STORE", "1", "+FLAGS", r"(\Seen $Important)")
    c.logout()
    assert len(inbox) == 3
    rc_path, root = mbsync_config(p, tmp_path, u)

    code, out = run(["mbsync", "-c", rc_path, "-a"], tmp_path)
    assert code == 0, out
    folders = ("INBOX", "Work", "Work/Sub")
    assert_same(p, u, root, folders)
    # Large and 8-bit bodies arrived whole.
    sizes = sorted(len(d) for _, _, d in folder_messages(root, "INBOX"))
    assert sizes[-1] > 590_000

    # Local changes: flags on an INBOX message, a deletion in Work, a new
    # message in Work/Sub.
    path, _, data = next(m for m in folder_messages(root, "INBOX") if b"eight-bit" in m[2])
    base = path.split(":2,")[0]
    os.rename(path, base + ":2,FS")
    gone_path, _, gone = next(m for m in folder_messages(root, "Work") if b"work two" in m[2])
    os.unlink(gone_path)
    new_local = (b"From: Bob <sync@example.org>\nTo: x@example.org\n"
                 b"Subject: written locally\n\n\xc3\xa9crit ici\n.\nend\n")
    with open(os.path.join(root, "Work/Sub/new/1700000000.P1Q1.client"), "wb") as f:
        f.write(new_local)
    # And a folder made locally, with one message (Create Both).
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, "Local", sub))
    with open(os.path.join(root, "Local/cur/1700000001.P1Q2.client:2,S"), "wb") as f:
        f.write(b"Subject: made here\n\nin a local folder\n")

    code, out = run(["mbsync", "-c", rc_path, "-a"], tmp_path)
    assert code == 0, out
    # Flags pushed back (the keyword mbsync does not know stays).
    stored = {d: (uid, flags) for uid, flags, d in p.mailbox(u)}
    uid, flags = next(v for d, v in stored.items() if b"eight-bit" in d)
    assert flags & (SEEN | FLAGGED) == SEEN | FLAGGED
    c = login(p, u)
    assert {b"\\Seen", b"\\Flagged", b"$Important"} <= flags_of(c, "INBOX", uid)
    # Delete propagated and expunged.
    assert not any(b"work two" in d for _, _, d in p.mailbox(u, "Work"))
    assert len(p.mailbox(u, "Work")) == 1
    # The new message uploaded (APPEND): the local bytes in CRLF.
    sub = p.mailbox(u, "Work/Sub")
    up = [d for _, _, d in sub if b"written locally" in d]
    assert len(up) == 1
    assert without_tuid(up[0]) == new_local.replace(b"\n", b"\r\n")
    # The local folder created on the server, its message \Seen.
    made = p.mailbox(u, "Local")
    assert len(made) == 1 and made[0][1] & SEEN
    assert without_tuid(made[0][2]) == b"Subject: made here\r\n\r\nin a local folder\r\n"
    c.logout()
    folders += ("Local",)
    assert_same(p, u, root, folders)

    # A third run changes nothing on either side.
    before_local = maildir_files(root)
    before_server = {f: p.mailbox(u, f) for f in folders}
    code, out = run(["mbsync", "-c", rc_path, "-a", "-D"], tmp_path)
    assert code == 0, out
    sent = re.findall(r"^F: >>> \d+ (\S+(?: \S+)?)", out, re.M)
    assert sent, out[-3000:]
    for verb in sent:
        assert not verb.startswith(("APPEND", "UID STORE", "STORE", "EXPUNGE",
                                    "UID EXPUNGE")), (verb, sent)
    assert maildir_files(root) == before_local
    assert {f: p.mailbox(u, f) for f in folders} == before_server


# --- mutt -------------------------------------------------------------------------

def test_mutt_reads_and_saves(petrel, tmp_path):
    need("mutt")
    need("script")
    p, u = petrel, MUTT
    stored = deliver(p, u, EIGHT_BIT % b"for mutt")
    certs = tmp_path / "certs"
    shutil.copy(cert_path(p), certs)
    muttrc = tmp_path / "muttrc"
    piped, copied = tmp_path / "piped.eml", tmp_path / "copied.mbox"
    muttrc.write_text(
        'set imap_user="%s"\nset imap_pass="%s"\n'
        'set certificate_file="%s"\nset ssl_force_tls=yes\nset ssl_starttls=yes\n'
        'set ssl_verify_host=no\nset wait_key=no\nset pipe_decode=no\n'
        'set mail_check=0\nset quit=yes\nset move=no\nset mark_old=no\n'
        'set confirmcreate=no\nset confirmappend=no\nset header_cache=""\n'
        'set message_cachedir=""\nset imap_check_subscribed=no\n'
        'set folder="%s"\n'	# the default, ~/Mail, would be a prompt
        % (u, password(u), certs, tmp_path))
    # mutt wants a terminal: script(1) gives it a pseudo-terminal. One
    # action per run: keys pushed after an external command may be lost.
    for i, action in enumerate(("<pipe-message>cat >%s<enter>" % piped,
                                "<copy-message>%s<enter>" % copied)):
        cmds = tmp_path / ("cmds%d" % i)
        cmds.write_text('push "%s<quit>"\n' % action)
        line = "mutt -n -R -F %s -f imap://127.0.0.1:%d/INBOX -e 'source %s'" % (
            muttrc, p.ports["imap"], cmds)
        code, out = run(["script", "-qec", line, "/dev/null"], tmp_path, timeout=60)
        assert code == 0, out[-2000:]
    # The pipe gets the message as stored, in LF (mutt's local form).
    assert piped.read_bytes() == lf(stored)
    mbox = copied.read_bytes()
    assert mbox.startswith(b"From ")
    body = mbox.split(b"\n", 1)[1]
    # mbox quoting of "From " at a line start (mboxrd/mboxo) aside, the
    # body as stored; the header as stored plus what mutt adds to a copy
    # (Status, Content-Length, Lines).
    head, _, text = body.replace(b"\n>From ", b"\nFrom ").partition(b"\n\n")
    want_head, _, want_text = lf(stored).partition(b"\n\n")
    assert text.rstrip(b"\n") == want_text.rstrip(b"\n")
    assert head.startswith(want_head), (head, want_head)
    assert all(re.match(rb"(Status|X-Status|Content-Length|Lines): ", l)
               for l in head[len(want_head):].split(b"\n") if l), head
    # Read only: the message is still there, unflagged by mutt's view.
    assert len(p.mailbox(u)) == 1


# --- fetchmail --------------------------------------------------------------------

def fetchmail_rc(p, tmp_path, port, tls, keep, outdir):
    mda = "cat > $(mktemp %s/m.XXXXXX)" % outdir
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        'set no bouncemail\n'
        'poll 127.0.0.1 service %d protocol imap auth password\n'
        '  user "%s" there with password "%s" is "%s" here\n'
        '  %s %s sslcertfile "%s" sslcommonname "mx.example.org"\n'
        '  %s mda "%s"\n'
        % (port, FETCHMAIL, password(FETCHMAIL), os.environ.get("USER", "root"),
           "ssl" if tls == "implicit" else "sslproto tls1.2+",
           "sslcertck", cert_path(p), "keep" if keep else "nokeep", mda))
    rc.chmod(0o600)
    return str(rc)


def fetched(outdir):
    """What the MDA got, each without the Received header fetchmail adds."""
    out = []
    for f in sorted(os.listdir(outdir)):
        data = open(os.path.join(outdir, f), "rb").read()
        if data.startswith(b"Received: from 127.0.0.1"):
            m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", data)
            data = data[m.end():]
        out.append(data)
    return out


def run_fetchmail(rc, tmp_path):
    return run(["fetchmail", "-f", rc, "-v", "--nodetach", "--pidfile",
                str(tmp_path / "pid")], tmp_path)


def test_fetchmail_starttls_keep_then_imaps_nokeep(petrel, tmp_path):
    need("fetchmail")
    p = petrel
    msgs = [deliver(p, FETCHMAIL, EIGHT_BIT % b"fm one"),
            deliver(p, FETCHMAIL, big_message("fm large", 400_000))]
    out1 = tmp_path / "out1"
    out1.mkdir()
    code, log = run_fetchmail(fetchmail_rc(p, tmp_path, p.ports["imap"], "starttls",
                                           True, out1), tmp_path)
    assert code == 0, log[-3000:]
    assert "STARTTLS" in log
    assert sorted(fetched(out1)) == sorted(lf(m) for m in msgs)
    # keep: still there, now \Seen; a second poll fetches nothing new.
    left = p.mailbox(FETCHMAIL)
    assert len(left) == 2 and all(f & SEEN for _, f, _ in left)
    out2 = tmp_path / "out2"
    out2.mkdir()
    code, log = run_fetchmail(fetchmail_rc(p, tmp_path, p.ports["imap"], "starttls",
                                           True, out2), tmp_path)
    assert code == 1, log[-3000:]	# 1: no mail
    assert fetched(out2) == []

    # One more, then implicit TLS with nokeep and fetchall.
    msgs.append(deliver(p, FETCHMAIL, b"Subject: fm three\r\n\r\nthree\r\n"))
    out3 = tmp_path / "out3"
    out3.mkdir()
    rc = fetchmail_rc(p, tmp_path, p.ports["imaps"], "implicit", False, out3)
    code, log = run(["fetchmail", "-f", rc, "-a", "-v", "--nodetach", "--pidfile",
                     str(tmp_path / "pid")], tmp_path)
    assert code == 0, log[-3000:]
    assert sorted(fetched(out3)) == sorted(lf(m) for m in msgs)
    # nokeep: deleted and expunged.
    assert p.mailbox(FETCHMAIL) == []


# --- offlineimap ------------------------------------------------------------------

def test_offlineimap_one_way(petrel, tmp_path):
    need("offlineimap")
    p, u = petrel, OFFLINEIMAP
    stored_inbox = deliver(p, u, EIGHT_BIT % b"oi one")
    c = login(p, u)
    assert c.create("Lists/Petrel")[0] == "OK"
    append(c, "Lists/Petrel", b"Subject: oi list\r\n\r\nlist mail\r\n", r"(\Seen \Flagged)")
    c.logout()
    fp = subprocess.run(["openssl", "x509", "-in", cert_path(p), "-noout", "-fingerprint",
                         "-sha512"], capture_output=True, text=True, check=True).stdout
    fp = fp.strip().split("=", 1)[1].replace(":", "").lower()
    local = tmp_path / "oi"
    rc = tmp_path / "offlineimaprc"
    rc.write_text(
        "[general]\naccounts = a\nmetadata = %s\nui = basic\n\n"
        "[Account a]\nlocalrepository = local\nremoterepository = remote\n\n"
        "[Repository local]\ntype = Maildir\nlocalfolders = %s\n\n"
        "[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = %d\n"
        "remoteuser = %s\nremotepass = %s\nssl = yes\ncert_fingerprint = %s\n"
        "readonly = True\n"
        % (tmp_path / "meta", local, p.ports["imaps"], u, password(u), fp))
    code, out = run(["offlineimap", "-c", str(rc), "-o"], tmp_path, timeout=180)
    assert code == 0, out[-3000:]
    assert "ERROR" not in out, out[-3000:]
    inbox = folder_messages(str(local), "INBOX")
    assert [lf(d) for _, _, d in inbox] == [lf(stored_inbox)]
    lists = folder_messages(str(local), "Lists.Petrel")
    assert len(lists) == 1
    _, bits, data = lists[0]
    assert lf(data) == lf(p.mailbox(u, "Lists/Petrel")[0][2])
    assert bits == SEEN | FLAGGED
    # One way: the server is as it was.
    assert len(p.mailbox(u)) == 1 and len(p.mailbox(u, "Lists/Petrel")) == 1
