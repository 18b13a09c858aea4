#!/usr/bin/python3
"""A fake Microsoft Entra ID token service for Mailbridge's tests.

Python standard library only (http.server + ssl), TLS with the test PKI
(testpki.py). It serves, under /{tenant}/oauth2/v2.0/:

  devicecode  RFC 8628 3.1-3.2: a device code per request; what each poll
              of that code gets is scripted per client ("authorization_
              pending", "slow_down", "ok", "authorization_declined", ...).
              The fake checks every poll against the interval it gave
              (slow_down adds slow_down_step) and records violations.
              The step "await_approval" holds the code pending (each poll
              answers authorization_pending) until the test decides with
              approve(user_code, outcome), as a person at the sign-in page
              would; device_codes lists the codes issued.
  token       grants device_code, refresh_token (rotating refresh tokens;
              a revoked one gets invalid_grant with AADSTS70008 or
              AADSTS50173), client_credentials (client secret, or a JWT
              client assertion whose RS256 signature is verified with the
              registered certificate's public key, in pure Python), and
              authorization_code (PKCE S256 checked, RFC 7636 4.6).
  authorize   the browser flow: redirects (302) to the loopback
              redirect_uri with code and state, or with error=access_denied.

Access tokens have a configurable lifetime (tests use seconds) on the
fake's own clock, which tests may move forward (advance()); token_
validator() plugs into fake_m365.FakeM365.token_validator so the fake
upstream accepts exactly the unexpired tokens issued here for XOAUTH2.

Texts follow M365-FACTS.md section 2 and Entra's error code reference;
AADSTS codes not confirmed there are left out rather than invented.

In a test (the server runs in its own threads):

    entra = FakeEntra(pki=testpki.ensure(), clients={
        "app-1": {"public": True}}, device_scripts={
        "app-1": ["authorization_pending", "ok"]}, interval=0)
    with entra:                                 # start() ... stop()
        entra.authority ... (https://127.0.0.1:PORT)
    entra.grants, entra.interval_violations, entra.issued ...
    entra.device_codes[-1]["user_code"]   # what the app must show
    entra.approve(code)                   # or approve(code,
                                          #   "authorization_declined")

As a subprocess (the C tests):
    python3 tests/fakes/fake_entra.py --port 0 --pki-dir DIR --script JSON
prints its port alone on the first line of stdout, serves until stdin
closes or SIGTERM, and serves its state as JSON at GET /_fake/state.

Generated once into <pki-dir>/entra/ (RSA 2048, self-signed, for the
app-only flow): app.crt, app.key (PKCS#8), app-pkcs1.key, app-enc.key
(PKCS#8 encrypted with APP_KEY_PASSPHRASE), app.pem (cert + key), and
other-app.crt/.key (a certificate no client registers).

This is test code: it keeps everything in memory and trusts its caller.
"""

import argparse
import base64
import collections
import copy
import fcntl
import hashlib
import hmac
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testpki  # noqa: E402

SCOPE_SMTP = "https://outlook.office.com/SMTP.Send"
SCOPE_APP = "https://outlook.office365.com/.default"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
VERIFICATION_URI = "https://microsoft.com/devicelogin"
APP_KEY_PASSPHRASE = "mailbridge-test"
APP_CERTS = ("app", "other-app")
# Polls may come this much early (timer and clock granularity).
INTERVAL_TOLERANCE = 0.02

# (error, AADSTS number or None, description). Texts quoted from Entra
# where M365-FACTS.md or Entra's reference gives them.
ERRORS = {
    "authorization_pending": (
        "authorization_pending", 70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue "
        "polling."),
    "slow_down": ("slow_down", None, "Polling too fast: slow down."),
    "authorization_declined": (
        "authorization_declined", None,
        "The end user denied the authorization request."),
    "expired_token": (
        "expired_token", 70019, "Verification code expired."),
    "bad_verification_code": (
        "bad_verification_code", None,
        "The device code was not recognized."),
    "public_client_off": (
        "invalid_client", 7000218,
        "The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'."),
    "unknown_client": (
        "unauthorized_client", 700016,
        "Application with identifier '{client_id}' was not found in the "
        "directory '{tenant}'."),
    "mfa_required": (
        "invalid_grant", 50076,
        "Due to a configuration change made by your administrator, or "
        "because you moved to a new location, you must use multi-factor "
        "authentication to access '00000002-0000-0ff1-ce00-000000000000'."),
    "ca_blocked": (
        "invalid_grant", 53003,
        "Access has been blocked by Conditional Access policies. The access "
        "policy does not allow token issuance."),
    "refresh_inactive": (
        "invalid_grant", 70008,
        "The provided authorization code or refresh token has expired due "
        "to inactivity. Send a new interactive authorization request for "
        "this user and resource."),
    "refresh_revoked": (
        "invalid_grant", 50173,
        "The provided grant has expired due to it being revoked, a fresh "
        "auth token is needed. The user might have changed or reset their "
        "password."),
    "refresh_unknown": (
        "invalid_grant", None, "The refresh token is malformed or unknown."),
    "bad_secret": (
        "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in "
        "the request is the client secret value, not the client secret ID."),
    "bad_assertion": (
        "invalid_client", 700027,
        "Client assertion failed signature validation. {reason}"),
    "assertion_time": (
        "invalid_client", 700024,
        "Client assertion is not within its valid time range. {reason}"),
    "assertion_claims": (
        "invalid_client", None, "Client assertion is invalid: {reason}"),
    "confidential_needed": (
        "invalid_client", 7000218,
        "The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'."),
    "app_scope": (
        "invalid_scope", 1002012,
        "The provided value for scope {scope} is not valid. Client "
        "credential flows must have a scope value with /.default suffixed "
        "to the resource identifier (application ID URI)."),
    "pkce_mismatch": (
        "invalid_grant", 501481,
        "The Code_Verifier does not match the code_challenge supplied in "
        "the authorization request."),
    "code_unknown": (
        "invalid_grant", None,
        "The authorization code is unknown, used or expired."),
    "redirect_mismatch": (
        "invalid_grant", None,
        "The redirect_uri does not match the one of the authorization "
        "request."),
    "unsupported_grant": (
        "unsupported_grant_type", None, "The grant type is not supported."),
    "invalid_request": ("invalid_request", None, "{reason}"),
    "server_error": ("server_error", None, "An internal error occurred."),
    "temporarily_unavailable": (
        "temporarily_unavailable", None,
        "The service is temporarily unavailable."),
}

# Device script steps that end the device code, and the ERRORS entry and
# HTTP status each answers with.  AWAIT_STEP answers authorization_pending
# until approve() names the outcome ("ok" or another step).
AWAIT_STEP = "await_approval"
TERMINAL_STEPS = {
    "authorization_declined", "expired_token", "bad_verification_code",
    "mfa_required", "ca_blocked"}
STEP_STATUS = {"server_error": 500, "temporarily_unavailable": 503}

DEFAULTS = {
    "clients": {},            # id -> {public, secret, certificate,
                              #   principal, redirect_uris, and per-client
                              #   interval, expires_in, slow_down_step,
                              #   access_token_lifetime, authorize_outcome}
    "tenants": None,          # None: any tenant in the path
    "user": "user@contoso.com",  # who signs in (delegated tokens)
    "device_scripts": {},     # client id -> [step, ...] per device code
    "default_script": ["ok"],
    "interval": 0,            # seconds, what devicecode answers
    "expires_in": 900,        # device code lifetime, seconds
    "slow_down_step": 5.0,    # what the fake adds to the interval
    "access_token_lifetime": 3600,
    "access_token_size": 1500,   # Entra tokens are long (M365-FACTS 2.1)
    "refresh_tokens": {},     # token -> {client_id, revoked: error name}
    "authorize_outcome": "ok",   # or "access_denied"
    "untrusted_cert": False,  # serve the rogue certificate
}


def _record_secret(value):
    """Hands a token this fake issued to the secrets audit
    (tests/integration/mbtest.py, test_secret_audit.py), which then
    searches the relay's spool, logs and configuration for it.  A no-op
    when the fake runs outside the integration tests."""
    mbtest = sys.modules.get("mbtest")
    if mbtest is not None and value:
        mbtest.record_secret(value)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ensure_app_certs(pki):
    """The RSA app certificates under <pki>/entra (generated once)."""
    directory = os.path.join(pki.directory, "entra")
    stamp = os.path.join(directory, "entra.json")
    if os.path.exists(stamp):
        return directory
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp):
            return directory
        work = tempfile.mkdtemp(prefix=".gen-", dir=directory)
        try:
            for name in APP_CERTS:
                _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-keyout", name + ".key", "-out", name + ".crt",
                         "-subj", f"/O=Mailbridge Tests/CN=Mailbridge {name}",
                         "-days", str(testpki.VALID_DAYS), "-sha256",
                         cwd=work)
            _openssl("pkey", "-in", "app.key", "-traditional",
                     "-out", "app-pkcs1.key", cwd=work)
            _openssl("pkcs8", "-topk8", "-in", "app.key", "-v2", "aes-256-cbc",
                     "-passout", "pass:" + APP_KEY_PASSPHRASE,
                     "-out", "app-enc.key", cwd=work)
            with open(os.path.join(work, "app.pem"), "w") as out:
                for part in ("app.crt", "app.key"):
                    with open(os.path.join(work, part)) as f:
                        out.write(f.read())
            for f in os.listdir(work):
                os.chmod(os.path.join(work, f), 0o600)
                os.replace(os.path.join(work, f), os.path.join(directory, f))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with open(stamp + ".tmp", "w") as f:
            json.dump({"certs": list(APP_CERTS)}, f)
        os.replace(stamp + ".tmp", stamp)
    return directory


class RsaPublicKey:
    """An RSA public key read from a PEM certificate with openssl."""

    # RFC 8017 9.2 note 1: DigestInfo prefix for SHA-256.
    SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, cert_path):
        with open(cert_path, "rb") as f:
            pem = f.read()
        self.der = ssl.PEM_cert_to_DER_cert(pem.decode())
        modulus = subprocess.run(
            ["openssl", "x509", "-noout", "-modulus", "-in", cert_path],
            check=True, capture_output=True, text=True).stdout
        self.n = int(modulus.strip().split("=", 1)[1], 16)
        text = subprocess.run(
            ["openssl", "x509", "-noout", "-text", "-in", cert_path],
            check=True, capture_output=True, text=True).stdout
        exponent = [line for line in text.splitlines()
                    if "Exponent:" in line][0]
        self.e = int(exponent.split(":")[1].split()[0])
        self.x5t = b64url(hashlib.sha1(self.der).digest())
        self.x5t_s256 = b64url(hashlib.sha256(self.der).digest())

    def verify_rs256(self, data, signature):
        """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2)."""
        k = (self.n.bit_length() + 7) // 8
        if len(signature) != k:
            return False
        s = int.from_bytes(signature, "big")
        if s >= self.n:
            return False
        em = pow(s, self.e, self.n).to_bytes(k, "big")
        digest = self.SHA256_PREFIX + hashlib.sha256(data).digest()
        expected = b"\x00\x01" + b"\xff" * (k - len(digest) - 3) + b"\x00" \
            + digest
        return hmac.compare_digest(em, expected)


class OAuthError(Exception):
    """An error answer: ERRORS[name] formatted with fields."""

    def __init__(self, name, status=400, **fields):
        super().__init__(name)
        self.name = name
        self.status = status
        self.fields = fields

    def body(self):
        error, code, text = ERRORS[self.name]
        fields = collections.defaultdict(str, self.fields)
        text = text.format_map(fields)
        trace = secrets.token_hex(8)
        description = (f"AADSTS{code}: {text}" if code else text) + \
            f"\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}\r\n" \
            f"Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}"
        body = {"error": error, "error_description": description,
                "error_codes": [code] if code else [],
                "trace_id": trace, "correlation_id": trace}
        return body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeEntra/1.0"

    def setup(self):
        super().setup()
        self.fake = self.server.fake

    def handle(self):
        try:
            self.connection.settimeout(30)
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.fake._count("tls_handshake_failures")
            return
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, socket.timeout):
            pass

    def log_message(self, fmt, *args):
        if self.fake.verbose:
            sys.stderr.write("fake_entra: " + (fmt % args) + "\n")

    def _send(self, status, body, content_type="application/json",
              headers=()):
        data = body if isinstance(body, bytes) else \
            json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self):
        """(tenant, endpoint) for /{tenant}/oauth2/v2.0/{endpoint}."""
        path = urllib.parse.urlsplit(self.path).path
        parts = path.split("/")
        if len(parts) == 5 and parts[0] == "" and parts[2] == "oauth2" \
                and parts[3] == "v2.0":
            return parts[1], parts[4]
        return None, None

    def _dispatch(self, method):
        try:
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/_fake/"):
                return self._control(method, path)
            tenant, endpoint = self._route()
            handler = {("POST", "devicecode"): self.fake._devicecode,
                       ("POST", "token"): self.fake._token,
                       ("GET", "authorize"): self.fake._authorize}.get(
                           (method, endpoint))
            if handler is None:
                return self._send(404, {"error": "not_found"})
            if self.fake.tenants is not None and \
                    tenant not in self.fake.tenants:
                raise OAuthError("invalid_request",
                                 reason=f"Tenant '{tenant}' not found.")
            status, body, headers = handler(self, tenant)
            if isinstance(body, str):
                return self._send(status, body.encode(),
                                  "text/html; charset=utf-8", headers)
            return self._send(status, body, headers=headers)
        except OAuthError as e:
            return self._send(e.status, e.body())
        except Exception as e:   # a bug in the fake: tests assert []
            self.fake._record_error(e)
            return self._send(500, {"error": "server_error"})

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def form(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length).decode()
        if self.headers.get_content_type() != \
                "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request",
                             reason="Expected a form-encoded body.")
        return dict(urllib.parse.parse_qsl(data, keep_blank_values=True))

    def endpoint_url(self):
        """The URL the client used (the audience of an assertion)."""
        host = self.headers.get("Host", "")
        return f"https://{host}{urllib.parse.urlsplit(self.path).path}"

    def _control(self, method, path):
        if method == "GET" and path == "/_fake/state":
            return self._send(200, self.fake.state())
        if method == "POST" and path == "/_fake/revoke":
            form = dict(urllib.parse.parse_qsl(self.rfile.read(
                int(self.headers.get("Content-Length") or 0)).decode()))
            self.fake.revoke(form["refresh_token"],
                             form.get("reason", "refresh_revoked"))
            return self._send(200, {})
        return self._send(404, {"error": "not_found"})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeEntra:
    """The fake token service: configuration, policy and state.

    Options (DEFAULTS) are attributes; set them with configure(**options),
    load_config(path), or directly. State: issued, grants, device_polls,
    interval_violations, authorize_requests, assertions, errors; all
    guarded by a lock and copied on read.
    """

    def __init__(self, pki=None, host="127.0.0.1", port=0, **options):
        self.pki = pki if pki is not None else testpki.ensure()
        self.host = host
        self.port = port
        self.verbose = False
        for key, value in DEFAULTS.items():
            setattr(self, key, copy.deepcopy(value))
        self.app_cert_dir = ensure_app_certs(self.pki)
        self._keys = {}
        self._lock = threading.Condition()
        self._server = None
        self._thread = None
        self.clock_offset = 0.0
        self.reset()
        self.configure(**options)

    # ---- configuration -------------------------------------------------

    def configure(self, **options):
        for key, value in options.items():
            if key not in DEFAULTS:
                raise KeyError(f"fake_entra: unknown option {key!r}")
            setattr(self, key, copy.deepcopy(value))
        with self._lock:
            for token, spec in self.refresh_tokens.items():
                self._refresh[token] = dict(spec)
        return self

    def load_config(self, path):
        with open(path) as f:
            return self.configure(**json.load(f))

    def app_cert(self, name="app"):
        return os.path.join(self.app_cert_dir, name + ".crt")

    def app_key(self, name="app"):
        return os.path.join(self.app_cert_dir, name + ".key")

    @property
    def ca_file(self):
        return self.pki.ca_cert

    @property
    def authority(self):
        return f"https://{self.host}:{self.port}"

    def now(self):
        """The fake's wall clock (expiry), movable with advance()."""
        return time.time() + self.clock_offset

    def monotonic(self):
        """The fake's interval clock, movable with advance()."""
        return time.monotonic() + self.clock_offset

    def advance(self, seconds):
        """Move the fake's clocks forward: tokens and codes expire, and
        poll intervals pass, without the test sleeping."""
        with self._lock:
            self.clock_offset += seconds
            self._lock.notify_all()

    # ---- life ------------------------------------------------------------

    def _tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.untrusted_cert:
            ctx.load_cert_chain(self.pki.rogue_server_chain,
                                self.pki.rogue_server_key)
        else:
            ctx.load_cert_chain(self.pki.server_chain, self.pki.server_key)
        return ctx

    def start(self):
        assert self._server is None, "already started"
        server = _Server((self.host, self.port), Handler)
        server.fake = self
        server.socket = self._tls_context().wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        daemon=True, name="fake-entra")
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- state -------------------------------------------------------------

    def reset(self):
        with self._lock:
            self._issued = {}          # access token -> record
            self._refresh = {}         # refresh token -> record
            self._devices = {}         # device code -> record
            self._user_codes = []      # every device code's public part
            self._codes = {}           # authorization code -> record
            self._jtis = set()
            self._grants = []
            self._violations = []
            self._polls = []
            self._authorize_log = []
            self._assertions = []
            self._errors = []
            self._counters = collections.Counter()
            self._device_count = collections.Counter()
            for token, spec in getattr(self, "refresh_tokens", {}).items():
                self._refresh[token] = dict(spec)
            self._lock.notify_all()

    def _count(self, name):
        with self._lock:
            self._counters[name] += 1
            self._lock.notify_all()

    def _record_error(self, error):
        text = "".join(traceback.format_exception(error))
        with self._lock:
            self._errors.append(text)
            self._lock.notify_all()
        print("fake_entra: internal error:\n" + text, file=sys.stderr)

    def _grant(self, grant_type, client_id, result, **extra):
        with self._lock:
            self._grants.append(dict(grant_type=grant_type,
                                     client_id=client_id, result=result,
                                     time=time.time(), **extra))
            self._lock.notify_all()

    @property
    def issued(self):
        with self._lock:
            return [dict(r, access_token=t) for t, r in self._issued.items()]

    @property
    def grants(self):
        with self._lock:
            return [dict(g) for g in self._grants]

    @property
    def interval_violations(self):
        with self._lock:
            return [dict(v) for v in self._violations]

    @property
    def device_codes(self):
        """Every device code issued, oldest first: user_code, client_id,
        index, and approval (None until approve())."""
        with self._lock:
            return [dict(c) for c in self._user_codes]

    def approve(self, user_code, outcome="ok"):
        """Decides a code held by "await_approval": its next poll answers
        @outcome ("ok", "authorization_declined", ...)."""
        assert outcome == "ok" or outcome in ERRORS, outcome
        with self._lock:
            [record] = [c for c in self._user_codes
                        if c["user_code"] == user_code]
            record["approval"] = outcome
            self._lock.notify_all()

    @property
    def device_polls(self):
        with self._lock:
            return [dict(p) for p in self._polls]

    @property
    def authorize_requests(self):
        with self._lock:
            return [dict(a) for a in self._authorize_log]

    @property
    def assertions(self):
        with self._lock:
            return [dict(a) for a in self._assertions]

    @property
    def errors(self):
        with self._lock:
            return list(self._errors)

    def counters(self):
        with self._lock:
            return dict(self._counters)

    def refresh_token_state(self, token):
        with self._lock:
            record = self._refresh.get(token)
            return dict(record) if record else None

    def live_refresh_tokens(self):
        """The refresh tokens issued here that were neither used nor
        revoked: after a refresh, the newest one."""
        with self._lock:
            return [t for t, r in self._refresh.items()
                    if r.get("client_id") and not r.get("used")
                    and not r.get("revoked")]

    def state(self):
        """Everything as JSON-friendly data (GET /_fake/state)."""
        with self._lock:
            return {
                "grants": [dict(g) for g in self._grants],
                "interval_violations": [dict(v) for v in self._violations],
                "device_polls": [dict(p) for p in self._polls],
                "device_codes": [dict(c) for c in self._user_codes],
                "authorize_requests": [dict(a) for a in self._authorize_log],
                "assertions": [dict(a) for a in self._assertions],
                "issued": len(self._issued),
                "counters": dict(self._counters),
                "errors": list(self._errors),
            }

    def wait_until(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fake_entra: condition not reached")
                self._lock.wait(left)

    def revoke(self, refresh_token, reason="refresh_revoked"):
        """Make a refresh token fail: reason "refresh_revoked" (AADSTS50173)
        or "refresh_inactive" (AADSTS70008)."""
        assert reason in ERRORS
        with self._lock:
            record = self._refresh.setdefault(refresh_token, {})
            record["revoked"] = reason

    def token_validator(self):
        """For fake_m365.FakeM365.token_validator: the principal of an
        unexpired access token issued here, else None."""
        def validate(token):
            with self._lock:
                record = self._issued.get(token)
                if record is None or self.now() >= record["expires_at"]:
                    return None
                return record["principal"]
        return validate

    # ---- issuing -------------------------------------------------------------

    def _new_access_token(self):
        head = "eyJ0eXAiOiJKV1QiLCJub25jZSI6ImZha2UtZW50cmEifQ."
        body = secrets.token_urlsafe(max(16, self.access_token_size))
        return (head + body)[:max(len(head) + 16, self.access_token_size)]

    def _issue(self, client_id, principal, scope, grant, refresh=True):
        """A token answer (RFC 6749 5.1); refresh tokens rotate."""
        lifetime = self._option(client_id, "access_token_lifetime")
        access = self._new_access_token()
        body = {"token_type": "Bearer", "scope": scope,
                "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": access}
        with self._lock:
            self._issued[access] = {
                "client_id": client_id, "principal": principal,
                "scope": scope, "grant": grant,
                "expires_at": self.now() + lifetime}
            if refresh:
                rt = "fake-rt-" + secrets.token_urlsafe(24)
                self._refresh[rt] = {"client_id": client_id,
                                     "principal": principal,
                                     "scope": scope}
                body["refresh_token"] = rt
            self._lock.notify_all()
        _record_secret(access)
        _record_secret(body.get("refresh_token"))
        return body

    def _option(self, client_id, name):
        """A per-client override of an option, else the option."""
        return self.clients.get(client_id, {}).get(name, getattr(self, name))

    def _client(self, client_id, tenant):
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("unknown_client", client_id=client_id,
                             tenant=tenant)
        return client

    def _public_key(self, client):
        name = client.get("certificate")
        if not name:
            return None
        path = self.app_cert(name) if name in APP_CERTS else name
        if path not in self._keys:
            self._keys[path] = RsaPublicKey(path)
        return self._keys[path]

    # ---- endpoints -------------------------------------------------------------

    def _devicecode(self, request, tenant):
        form = request.form()
        client_id = form.get("client_id", "")
        self._client(client_id, tenant)
        scope = form.get("scope", "")
        if SCOPE_SMTP not in scope.split():
            raise OAuthError("invalid_request",
                             reason=f"The scope '{scope}' does not include "
                                    f"{SCOPE_SMTP}.")
        code = "fake-dc-" + secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        script = self.device_scripts.get(client_id, self.default_script)
        interval = self._option(client_id, "interval")
        expires_in = self._option(client_id, "expires_in")
        with self._lock:
            index = self._device_count[client_id]
            self._device_count[client_id] += 1
            public = {"user_code": user_code, "client_id": client_id,
                      "index": index, "approval": None}
            self._user_codes.append(public)
            self._devices[code] = {
                "client_id": client_id, "index": index, "scope": scope,
                "script": list(script), "step": 0,
                "interval": float(interval),
                "last_poll": self.monotonic(),
                "expires_at": self.now() + expires_in,
                "public": public}
            self._lock.notify_all()
        return 200, {
            "user_code": user_code, "device_code": code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": expires_in, "interval": interval,
            "message": f"To sign in, use a web browser to open the page "
                       f"{VERIFICATION_URI} and enter the code {user_code} "
                       f"to authenticate."}, ()

    def _token(self, request, tenant):
        form = request.form()
        grant = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        handler = {DEVICE_GRANT: self._grant_device,
                   "refresh_token": self._grant_refresh,
                   "client_credentials": self._grant_client_credentials,
                   "authorization_code": self._grant_code}.get(grant)
        try:
            if handler is None:
                raise OAuthError("unsupported_grant")
            client = self._client(client_id, tenant)
            status, body = handler(request, form, client_id, client)
        except OAuthError as e:
            self._grant(grant, client_id, e.name)
            raise
        return status, body, ()

    def _grant_device(self, request, form, client_id, client):
        if not client.get("public", False):
            raise OAuthError("public_client_off")
        code = form.get("device_code", "")
        now = self.monotonic()
        with self._lock:
            device = self._devices.get(code)
            if device is None or device["client_id"] != client_id:
                raise OAuthError("bad_verification_code")
            elapsed = now - device["last_poll"]
            if elapsed + INTERVAL_TOLERANCE < device["interval"]:
                self._violations.append({
                    "client_id": client_id, "device": device["index"],
                    "poll": device["step"] + 1, "elapsed": elapsed,
                    "required": device["interval"]})
            device["last_poll"] = now
            script = device["script"]
            step = script[min(device["step"], len(script) - 1)]
            if step == AWAIT_STEP and device["public"]["approval"] is None:
                step = "authorization_pending"    # held: the step stays
            else:
                if step == AWAIT_STEP:
                    step = device["public"]["approval"]
                device["step"] += 1
            self._polls.append({"client_id": client_id,
                                "device": device["index"], "step": step,
                                "elapsed": elapsed,
                                "required": device["interval"]})
            if self.now() >= device["expires_at"]:
                step = "expired_token"
            if step == "slow_down":
                device["interval"] += float(
                    self._option(client_id, "slow_down_step"))
            if step == "ok" or step in TERMINAL_STEPS:
                del self._devices[code]
            self._lock.notify_all()
        if step == "ok":
            body = self._issue(client_id, self.user, device["scope"],
                               "device_code",
                               refresh="offline_access" in
                               device["scope"].split())
            self._grant(DEVICE_GRANT, client_id, "ok")
            return 200, body
        raise OAuthError(step, status=STEP_STATUS.get(step, 400))

    def _grant_refresh(self, request, form, client_id, client):
        token = form.get("refresh_token", "")
        with self._lock:
            record = self._refresh.get(token)
        if record is None or record.get("client_id", client_id) != client_id:
            raise OAuthError("refresh_unknown")
        if record.get("revoked"):
            raise OAuthError(record["revoked"])
        scope = form.get("scope") or record.get("scope") or SCOPE_SMTP
        body = self._issue(client_id, record.get("principal", self.user),
                           scope, "refresh_token")
        with self._lock:
            record["used"] = record.get("used", 0) + 1
            self._refresh[body["refresh_token"]]["rotated_from"] = token
        self._grant("refresh_token", client_id, "ok")
        return 200, body

    def _grant_client_credentials(self, request, form, client_id, client):
        scope = form.get("scope", "")
        if scope != SCOPE_APP:
            raise OAuthError("app_scope", scope=scope)
        if "client_assertion" in form:
            how = "assertion"
            self._check_assertion(request, form, client_id, client)
        elif "client_secret" in form:
            how = "secret"
            secret = client.get("secret")
            if secret is None or not hmac.compare_digest(
                    form["client_secret"].encode(), secret.encode()):
                raise OAuthError("bad_secret", status=401)
        else:
            raise OAuthError("confidential_needed", status=401)
        body = self._issue(client_id, client.get("principal", client_id),
                           scope, "client_credentials", refresh=False)
        self._grant("client_credentials", client_id, "ok", auth=how)
        return 200, body

    def _check_assertion(self, request, form, client_id, client):
        """RFC 7523 3 and Entra's certificate credentials."""
        def refuse(name, reason):
            raise OAuthError(name, status=401, reason=reason)

        if form.get("client_assertion_type") != ASSERTION_TYPE:
            refuse("assertion_claims", "wrong client_assertion_type")
        key = self._public_key(client)
        if key is None:
            refuse("bad_assertion", "No certificate is registered.")
        parts = form["client_assertion"].split(".")
        if len(parts) != 3:
            refuse("assertion_claims", "not a compact JWS")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            refuse("assertion_claims", "not base64url JSON")
        if header.get("alg") != "RS256":
            refuse("assertion_claims", f"alg {header.get('alg')!r}")
        if header.get("x5t") != key.x5t or \
                header.get("x5t#S256", key.x5t_s256) != key.x5t_s256:
            refuse("bad_assertion", "The certificate with identifier used "
                   "to sign the client assertion is not registered on "
                   "application.")
        signed = (parts[0] + "." + parts[1]).encode()
        if not key.verify_rs256(signed, signature):
            refuse("bad_assertion", "The signature does not verify.")
        if claims.get("aud") != request.endpoint_url():
            refuse("assertion_claims", f"aud {claims.get('aud')!r} is not "
                   f"{request.endpoint_url()!r}")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            refuse("assertion_claims", "iss and sub must be the client id")
        now = time.time()
        for name in ("exp", "nbf", "jti"):
            if name not in claims:
                refuse("assertion_claims", f"no {name}")
        if claims["exp"] <= now or claims["nbf"] > now + 300:
            refuse("assertion_time", f"nbf {claims['nbf']} exp "
                   f"{claims['exp']} now {int(now)}")
        with self._lock:
            if claims["jti"] in self._jtis:
                raise OAuthError("assertion_claims", status=401,
                                 reason="jti replayed")
            self._jtis.add(claims["jti"])
            self._assertions.append({"header": header, "claims": claims})

    def _authorize(self, request, tenant):
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(request.path).query,
            keep_blank_values=True))
        client_id = query.get("client_id", "")
        client = self._client(client_id, tenant)
        redirect = query.get("redirect_uri", "")
        parsed = urllib.parse.urlsplit(redirect)
        allowed = client.get("redirect_uris",
                             ["http://127.0.0.1", "http://localhost"])
        # Entra ignores the port of loopback redirect URIs.
        without_port = f"{parsed.scheme}://{parsed.hostname}{parsed.path}"
        with self._lock:
            self._authorize_log.append(dict(query))
        if without_port not in allowed:
            return 400, "<html><body>AADSTS50011: The redirect URI " \
                "specified in the request does not match.</body></html>", ()
        state = query.get("state")
        params = {}
        if query.get("response_type") != "code" or \
                query.get("code_challenge_method") != "S256" or \
                not query.get("code_challenge"):
            params = {"error": "invalid_request",
                      "error_description": "PKCE S256 is required."}
        elif self._option(client_id, "authorize_outcome") != "ok":
            params = {"error": self._option(client_id, "authorize_outcome"),
                      "error_description": "AADSTS65004: User declined to "
                                           "consent to access the app."}
        else:
            code = "fake-ac-" + secrets.token_urlsafe(32)
            with self._lock:
                self._codes[code] = {
                    "client_id": client_id, "redirect_uri": redirect,
                    "challenge": query["code_challenge"],
                    "scope": query.get("scope", ""),
                    "expires_at": self.now() + 600}
            params = {"code": code}
        if state is not None:
            params["state"] = state
        location = redirect + "?" + urllib.parse.urlencode(params)
        return 302, "", [("Location", location)]

    def _grant_code(self, request, form, client_id, client):
        code = form.get("code", "")
        with self._lock:
            record = self._codes.pop(code, None)     # single use
        if record is None or record["client_id"] != client_id or \
                self.now() >= record["expires_at"]:
            raise OAuthError("code_unknown")
        if form.get("redirect_uri") != record["redirect_uri"]:
            raise OAuthError("redirect_mismatch")
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if not 43 <= len(verifier) <= 128 or \
                not hmac.compare_digest(challenge, record["challenge"]):
            raise OAuthError("pkce_mismatch")
        scope = form.get("scope") or record["scope"]
        body = self._issue(client_id, self.user, scope, "authorization_code",
                           refresh="offline_access" in scope.split())
        self._grant("authorization_code", client_id, "ok")
        return 200, body


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fake Microsoft Entra ID token service (tests only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pki-dir", help="test PKI directory "
                        "(generated if missing)")
    parser.add_argument("--script", help="options as JSON text")
    parser.add_argument("--config", help="options as a JSON file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    fake = FakeEntra(pki=testpki.ensure(args.pki_dir), host=args.host,
                     port=args.port)
    if args.config:
        fake.load_config(args.config)
    if args.script:
        fake.configure(**json.loads(args.script))
    fake.verbose = args.verbose
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin():
        # The parent closing our stdin (or dying) ends us.
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    fake.start()
    print(fake.port, flush=True)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
