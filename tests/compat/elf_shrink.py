#!/usr/bin/env python3
"""probed survives an ELF file that shrinks while it reads it.

Usage: elf_shrink.py BUILD_DIR

As an unprivileged user (sledtest): a libsled process maps its own note-heavy library
(20,000 stapsdt notes) and maps it again at another address every 50 ms, so that probed
rediscovers the process's objects every second; meanwhile the same user truncates the
library to 4 KiB and writes it back, over and over.  probed must read the file with
plain reads (a short read is an error), never through a mapping of it (a page past the
new end faults: SIGBUS).  Checks: probed alive after 8 s of it, and still answering.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from sledtest import Daemon, Suite, isolate_dev_shm, notes_asm  # noqa: E402

if os.geteuid() != 0:
    print("SKIP: needs root")
    sys.exit(0)
isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
sdk = os.path.join(build, "sdk")
USER = "sledtest"
NOTES = 20000

APP = r'''
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	size_t len = (size_t)atol(argv[2]);
	void *keep[2] = { 0, 0 };
	if (fd < 0)
		return 1;
	for (unsigned i = 0;; i++) {
		/* Two mappings in turn: the executable mappings change, probed rediscovers. */
		if (keep[i & 1])
			munmap(keep[i & 1], len);
		keep[i & 1] = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		usleep(50000);
	}
}
'''


t = Suite()
subprocess.run(f"id {USER} >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin {USER}",
               shell=True, check=True)
pw = pwd.getpwnam(USER)
work = tempfile.mkdtemp(prefix="sled-shrink-")
os.chmod(work, 0o755)
d = app = None
try:
    asm = os.path.join(work, "notes.S")
    with open(asm, "w") as f:
        f.write(notes_asm(NOTES, "shrink"))
    lib = os.path.join(work, "libnotes.so")
    subprocess.run(["cc", "-shared", "-nostdlib", asm, "-o", lib], check=True)
    src = os.path.join(work, "app.c")
    with open(src, "w") as f:
        f.write(APP)
    exe = os.path.join(work, "shrink_app")
    subprocess.run(["cc", "-O2", src, "-o", exe, "-L" + sdk, "-Wl,-rpath," + sdk,
                    "-Wl,--no-as-needed", "-lsled"], check=True)
    os.chown(lib, pw.pw_uid, pw.pw_gid)
    size = os.path.getsize(lib)
    t.check(size > NOTES * 50, f"a library of {NOTES} notes ({size} bytes)")

    d = Daemon(probed, probectl)
    drop = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups"]
    app = subprocess.Popen(drop + [exe, lib, str(size)])
    # The owner shrinks and restores the file as fast as it can, for 8 s.
    shrink = (f'orig=$(mktemp); cp "{lib}" "$orig"; end=$((SECONDS + 8)); '
              f'while [ $SECONDS -lt $end ]; do truncate -s 4096 "{lib}"; '
              f'dd if="$orig" of="{lib}" conv=notrunc status=none; done; rm -f "$orig"')
    subprocess.run(drop + ["bash", "-c", f'cd /tmp && {shrink}'], check=False,
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": "/tmp"})
    t.check(app.poll() is None, "the attacker's process ran the whole time")
    alive = d.proc.poll() is None
    t.check(alive, f"probed is alive (exit status {d.proc.poll()})")
    if alive:
        st = subprocess.run([probectl, "-S", d.socket, "status"], capture_output=True, text=True)
        t.check(st.returncode == 0, "probed still answers status")
finally:
    if app and app.poll() is None:
        app.kill()
        app.wait()
    if d:
        d.stop()
    shutil.rmtree(work, ignore_errors=True)
t.finish()
