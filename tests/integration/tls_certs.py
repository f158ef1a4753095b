"""A test CA made with the openssl command for the TLS outputs' tests: a CA, a receiver
certificate it signed (for localhost and 127.0.0.1), a client certificate it signed, and
a second CA that signed nothing we meet (the "wrong CA").  EC P-256 keys: quick to make."""
import os
import shutil
import subprocess

OPENSSL = shutil.which("openssl")


def _run(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(name, cwd):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
         name, cwd=cwd)


def _ca(name, cwd):
    _key(name + ".key", cwd)
    _run("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem", "-days", "2",
         "-subj", "/CN=sled test " + name, "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def _leaf(name, ca, san, usage, cwd):
    _key(name + ".key", cwd)
    _run("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj",
         "/CN=" + name, cwd=cwd)
    ext = os.path.join(cwd, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n" % usage)
        if san:
            f.write("subjectAltName=%s\n" % san)
    _run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
         "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", ext, cwd=cwd)


def make_test_ca(directory):
    """Files in directory: ca.pem, other-ca.pem, receiver.pem/.key (localhost,
    127.0.0.1), client.pem/.key.  Their paths by name."""
    _ca("ca", directory)
    _ca("other-ca", directory)
    _leaf("receiver", "ca", "DNS:localhost,IP:127.0.0.1", "serverAuth", directory)
    _leaf("client", "ca", None, "clientAuth", directory)
    names = ["ca.pem", "other-ca.pem", "receiver.pem", "receiver.key", "client.pem",
             "client.key"]
    return {n: os.path.join(directory, n) for n in names}
