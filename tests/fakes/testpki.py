"""Test PKI for the fake Microsoft 365 upstream and the integration tests.

ensure(directory) creates, once per directory, with the `openssl` command
line tool (ECDSA P-256 keys, so generation takes a few tens of ms):

  ca.crt / ca.key                 "Mailbridge Test Root CA": the trust anchor
                                  a test gives the relay (route `trust`)
  inter.crt / inter.key           "Mailbridge Test Issuing CA", signed by the
                                  root; it issues the server and client certs
  server.crt / server.key         leaf for the fake's host names (see NAMES)
  server-chain.crt                server.crt + inter.crt (what the fake sends)
  rogue-ca.crt / rogue-ca.key     a second, unrelated root no test trusts
  rogue-server.crt / .key         leaf for the same names, signed by rogue-ca
  rogue-server-chain.crt          rogue-server.crt (issued by the rogue root)
  client-relay.crt / .key         connector client cert, CN and SAN
                                  relay.contoso.com (clientAuth)
  client-relay-chain.crt          client-relay.crt + inter.crt
  client-relay.pem                chain + key in one file
  client-other.*                  the same for relay.fabrikam.com, a domain
                                  the fake's tenant does not accept
  pki.json                        what was generated (names, date); the cache
                                  stamp, written last

Nothing is regenerated while pki.json matches the requested names and is
younger than MAX_AGE_DAYS. Concurrent callers serialise on an flock, so
parallel test processes can share one directory.

Use:
    import testpki
    pki = testpki.ensure(testpki.default_dir())
    pki.ca_cert, pki.server_chain, pki.server_key, pki.client_pem("relay") ...
"""

import datetime
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

# Host names the fake's server certificate covers. Tests connect to
# localhost / 127.0.0.1; the .test names let a test that maps names to
# loopback (or a relay that overrides resolution) verify real-looking names.
NAMES = [
    "localhost",
    "smtp.office365.test",
    "contoso-com.mail.protection.outlook.test",
    "*.mail.protection.outlook.test",
    "contoso-com.a1b2c3d4.mx.microsoft.test",
    "*.a1b2c3d4.mx.microsoft.test",
]
IPS = ["127.0.0.1", "::1"]

CLIENT_CERTS = {
    "relay": "relay.contoso.com",
    "other": "relay.fabrikam.com",
}

VALID_DAYS = 365
MAX_AGE_DAYS = 180


@dataclass(frozen=True)
class Pki:
    """Paths of one generated PKI directory."""

    directory: str

    def path(self, name):
        return os.path.join(self.directory, name)

    @property
    def ca_cert(self):
        return self.path("ca.crt")

    @property
    def inter_cert(self):
        return self.path("inter.crt")

    @property
    def server_cert(self):
        return self.path("server.crt")

    @property
    def server_chain(self):
        return self.path("server-chain.crt")

    @property
    def server_key(self):
        return self.path("server.key")

    @property
    def rogue_ca_cert(self):
        return self.path("rogue-ca.crt")

    @property
    def rogue_server_chain(self):
        return self.path("rogue-server-chain.crt")

    @property
    def rogue_server_key(self):
        return self.path("rogue-server.key")

    def client_cert(self, which="relay"):
        """Leaf only: a client that sends this omits the intermediate."""
        return self.path(f"client-{which}.crt")

    def client_chain(self, which="relay"):
        return self.path(f"client-{which}-chain.crt")

    def client_key(self, which="relay"):
        return self.path(f"client-{which}.key")

    def client_pem(self, which="relay"):
        """Chain and key in one file (ssl.SSLContext.load_cert_chain)."""
        return self.path(f"client-{which}.pem")


def default_dir():
    """$MB_TEST_TMPDIR/testpki, else /var/tmp/mailbridge-testpki-<uid>."""
    base = os.environ.get("MB_TEST_TMPDIR")
    if base:
        return os.path.join(base, "testpki")
    return f"/var/tmp/mailbridge-testpki-{os.getuid()}"


def _stamp_for(names, ips):
    key = json.dumps({"names": names, "ips": ips,
                      "clients": CLIENT_CERTS, "v": 1}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def _stamp_ok(directory, stamp):
    try:
        with open(os.path.join(directory, "pki.json")) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return False
    if info.get("stamp") != stamp:
        return False
    created = datetime.datetime.fromisoformat(info["created"])
    age = datetime.datetime.now(datetime.timezone.utc) - created
    return age.days < MAX_AGE_DAYS


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _keygen(name, cwd):
    _openssl("genpkey", "-algorithm", "EC",
             "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name, cwd=cwd)


def _write(cwd, name, text):
    with open(os.path.join(cwd, name), "w") as f:
        f.write(text)


def _concat(cwd, out, *parts):
    with open(os.path.join(cwd, out), "wb") as o:
        for p in parts:
            with open(os.path.join(cwd, p), "rb") as f:
                o.write(f.read())


def _self_signed_ca(cwd, base, cn):
    _keygen(base + ".key", cwd)
    _openssl("req", "-x509", "-new", "-key", base + ".key",
             "-subj", f"/O=Mailbridge Tests/CN={cn}",
             "-days", str(VALID_DAYS), "-sha256",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash",
             "-out", base + ".crt", cwd=cwd)


def _issue(cwd, base, cn, issuer, ext):
    """Key + CSR + certificate signed by issuer(.crt/.key) with ext."""
    _keygen(base + ".key", cwd)
    _openssl("req", "-new", "-key", base + ".key",
             "-subj", f"/O=Mailbridge Tests/CN={cn}",
             "-out", base + ".csr", cwd=cwd)
    _write(cwd, base + ".ext", ext)
    _openssl("x509", "-req", "-in", base + ".csr",
             "-CA", issuer + ".crt", "-CAkey", issuer + ".key",
             "-set_serial", "0x" + os.urandom(12).hex(),
             "-days", str(VALID_DAYS), "-sha256",
             "-extfile", base + ".ext", "-out", base + ".crt", cwd=cwd)
    os.unlink(os.path.join(cwd, base + ".csr"))
    os.unlink(os.path.join(cwd, base + ".ext"))


def _server_ext(names, ips):
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    return ("basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            "authorityKeyIdentifier=keyid\n"
            f"subjectAltName={san}\n")


def _client_ext(name):
    return ("basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=clientAuth,serverAuth\n"
            "authorityKeyIdentifier=keyid\n"
            f"subjectAltName=DNS:{name}\n")


INTER_EXT = ("basicConstraints=critical,CA:TRUE,pathlen:0\n"
             "keyUsage=critical,keyCertSign,cRLSign\n"
             "subjectKeyIdentifier=hash\n"
             "authorityKeyIdentifier=keyid\n")


def _generate(cwd, names, ips):
    _self_signed_ca(cwd, "ca", "Mailbridge Test Root CA")
    _issue(cwd, "inter", "Mailbridge Test Issuing CA", "ca", INTER_EXT)
    _issue(cwd, "server", names[0], "inter", _server_ext(names, ips))
    _concat(cwd, "server-chain.crt", "server.crt", "inter.crt")

    _self_signed_ca(cwd, "rogue-ca", "Rogue Test Root CA")
    _issue(cwd, "rogue-server", names[0], "rogue-ca",
           _server_ext(names, ips))
    _concat(cwd, "rogue-server-chain.crt", "rogue-server.crt")

    for which, name in CLIENT_CERTS.items():
        base = f"client-{which}"
        _issue(cwd, base, name, "inter", _client_ext(name))
        _concat(cwd, base + "-chain.crt", base + ".crt", "inter.crt")
        _concat(cwd, base + ".pem", base + "-chain.crt", base + ".key")

    for f in os.listdir(cwd):
        if f.endswith(".key") or f.endswith(".pem"):
            os.chmod(os.path.join(cwd, f), 0o600)


def ensure(directory=None, names=None, ips=None):
    """Generate the PKI into directory unless a matching one is there.

    names/ips replace NAMES/IPS for the server certificates. Returns a Pki.
    """
    directory = os.path.abspath(directory or default_dir())
    names = list(names or NAMES)
    ips = list(ips or IPS)
    stamp = _stamp_for(names, ips)
    os.makedirs(directory, exist_ok=True)
    if _stamp_ok(directory, stamp):
        return Pki(directory)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _stamp_ok(directory, stamp):
            return Pki(directory)
        work = tempfile.mkdtemp(prefix=".gen-", dir=directory)
        try:
            _generate(work, names, ips)
            for f in os.listdir(work):
                os.replace(os.path.join(work, f), os.path.join(directory, f))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        info = {"stamp": stamp, "names": names, "ips": ips,
                "clients": CLIENT_CERTS,
                "created": datetime.datetime.now(
                    datetime.timezone.utc).isoformat()}
        tmp = os.path.join(directory, "pki.json.tmp")
        with open(tmp, "w") as f:
            json.dump(info, f, indent=2)
        os.replace(tmp, os.path.join(directory, "pki.json"))
    return Pki(directory)


if __name__ == "__main__":
    import sys
    pki = ensure(sys.argv[1] if len(sys.argv) > 1 else None)
    print(pki.directory)
