#!/usr/bin/python3
"""Self-tests of the fake Entra ID token service (tests/fakes/fake_entra.py).

Python's http.client and ssl, clients nobody here wrote, drive each
endpoint and check the answers M365-FACTS.md section 2 and the RFCs
describe; the client assertions are signed with the openssl command line
tool, so the fake's pure-Python RS256 check is tested against an
independent signer. The last tests plug token_validator() into the fake
Microsoft 365 upstream and authenticate with smtplib's XOAUTH2. Run
directly, with unittest, or through tests/integration/taprunner.py.
"""

import base64
import hashlib
import http.client
import json
import os
import smtplib
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(os.path.dirname(HERE), "fakes")
sys.path.insert(0, FAKES)

import fake_entra  # noqa: E402
import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())
TENANT = "contoso.com"
USER = "user@contoso.com"
SECRET = "the-secret-value"
DELEGATED = "https://outlook.office.com/SMTP.Send offline_access"

CLIENTS = {
    "public": {"public": True},
    "slow": {"public": True, "interval": 1},
    "confidential": {"public": False, "secret": SECRET},
    "app": {"secret": SECRET, "certificate": "app",
            "principal": "app-principal"},
    "denied": {"public": True, "authorize_outcome": "access_denied"},
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_rs256(data, key_path):
    """An RS256 signature by the openssl tool (independent of the fake)."""
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key_path],
        input=data, capture_output=True, check=True).stdout


class EntraCase(unittest.TestCase):
    options = {}

    def setUp(self):
        self.entra = fake_entra.FakeEntra(pki=PKI, clients=CLIENTS,
                                          **self.options)
        self.entra.start()
        self.context = ssl.create_default_context(cafile=PKI.ca_cert)

    def tearDown(self):
        self.entra.stop()
        self.assertEqual(self.entra.errors, [])

    def request(self, method, endpoint, form=None, query=None,
                path=None):
        """(status, JSON or text body, headers)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.entra.port,
                                           context=self.context, timeout=10)
        path = path or f"/{TENANT}/oauth2/v2.0/{endpoint}"
        if query:
            path += "?" + urllib.parse.urlencode(query)
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} \
            if body is not None else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read().decode()
            try:
                data = json.loads(data)
            except ValueError:
                pass
            return response.status, data, dict(response.getheaders())
        finally:
            conn.close()

    def token(self, **form):
        return self.request("POST", "token", form)

    def device_code(self, client_id="public", scope=DELEGATED):
        status, body, _ = self.request(
            "POST", "devicecode", {"client_id": client_id, "scope": scope})
        self.assertEqual(status, 200, body)
        return body

    def poll(self, client_id, device_code):
        return self.token(grant_type=fake_entra.DEVICE_GRANT,
                          client_id=client_id, device_code=device_code)

    def assertOAuthError(self, answer, error, aadsts=None, status=400):
        got_status, body, _ = answer
        self.assertEqual(got_status, status, body)
        self.assertEqual(body["error"], error, body)
        if aadsts is not None:
            self.assertEqual(body["error_codes"], [aadsts])
            self.assertTrue(body["error_description"].startswith(
                f"AADSTS{aadsts}: "), body["error_description"])
            self.assertIn("\r\nTrace ID: ", body["error_description"])


class DeviceCodeTest(EntraCase):

    def test_devicecode_answer(self):
        # RFC 8628 3.2 / M365-FACTS 2.3: the fields, no
        # verification_uri_complete, and the message names the code.
        body = self.device_code()
        self.assertEqual(set(body), {"user_code", "device_code",
                                     "verification_uri", "expires_in",
                                     "interval", "message"})
        self.assertEqual(body["verification_uri"],
                         "https://microsoft.com/devicelogin")
        self.assertEqual(body["expires_in"], 900)
        self.assertIn(body["user_code"], body["message"])

    def test_script_then_tokens(self):
        # The scripted sequence is played poll by poll; "ok" issues an
        # access and a refresh token (offline_access was asked for).
        self.entra.configure(device_scripts={"public": [
            "authorization_pending", "authorization_pending", "ok"]})
        code = self.device_code()["device_code"]
        self.assertOAuthError(self.poll("public", code),
                              "authorization_pending", 70016)
        self.assertOAuthError(self.poll("public", code),
                              "authorization_pending", 70016)
        status, body, _ = self.poll("public", code)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["scope"], DELEGATED)
        self.assertGreaterEqual(len(body["access_token"]), 1500)
        self.assertIn("refresh_token", body)
        # The code is single use.
        self.assertOAuthError(self.poll("public", code),
                              "bad_verification_code")
        self.assertEqual(self.entra.interval_violations, [])

    def test_terminal_errors(self):
        # Each terminal step answers its RFC 8628 / Entra error.
        for step, error, aadsts in [
                ("authorization_declined", "authorization_declined", None),
                ("expired_token", "expired_token", 70019),
                ("bad_verification_code", "bad_verification_code", None),
                ("ca_blocked", "invalid_grant", 53003),
                ("mfa_required", "invalid_grant", 50076)]:
            with self.subTest(step=step):
                self.entra.configure(device_scripts={"public": [step]})
                code = self.device_code()["device_code"]
                self.assertOAuthError(self.poll("public", code), error,
                                      aadsts)

    def test_interval_violations_recorded(self):
        # Polling faster than the interval, or than interval + slow_down
        # step after slow_down, is recorded; waiting it out (on the fake's
        # clock) is not.
        self.entra.configure(device_scripts={"slow": [
            "authorization_pending", "slow_down", "authorization_pending"]},
            slow_down_step=0.5)
        code = self.device_code("slow")["device_code"]
        self.poll("slow", code)          # at once: violation (1 s)
        self.assertEqual(len(self.entra.interval_violations), 1)
        self.entra.advance(1.0)          # both clocks: no sleeping
        self.assertOAuthError(self.poll("slow", code), "slow_down")
        self.assertEqual(len(self.entra.interval_violations), 1)
        self.poll("slow", code)          # at once: violation (1.5 s)
        violations = self.entra.interval_violations
        self.assertEqual(len(violations), 2)
        self.assertEqual(violations[1]["required"], 1.5)
        self.assertEqual(violations[1]["client_id"], "slow")

    def test_expired_on_the_fakes_clock(self):
        # Past expires_in, any poll gets expired_token.
        self.entra.configure(device_scripts={"public": [
            "authorization_pending"]})
        code = self.device_code()["device_code"]
        self.entra.advance(901)
        self.assertOAuthError(self.poll("public", code), "expired_token",
                              70019)

    def test_public_client_flows_off(self):
        # A client without "Allow public client flows" gets AADSTS7000218.
        code = self.device_code("confidential")["device_code"]
        self.assertOAuthError(self.poll("confidential", code),
                              "invalid_client", 7000218)

    def test_unknown_client(self):
        # An unknown client id is AADSTS700016.
        status, body, _ = self.request(
            "POST", "devicecode", {"client_id": "nobody",
                                   "scope": DELEGATED})
        self.assertOAuthError((status, body, None), "unauthorized_client",
                              700016)


class RefreshTest(EntraCase):

    def signed_in(self):
        code = self.device_code()["device_code"]
        status, body, _ = self.poll("public", code)
        self.assertEqual(status, 200)
        return body

    def test_rotation(self):
        # Each refresh returns a new refresh token; the old one stays valid
        # (M365-FACTS 2.3: "the old one is not revoked").
        first = self.signed_in()
        status, second, _ = self.token(grant_type="refresh_token",
                                       client_id="public",
                                       refresh_token=first["refresh_token"],
                                       scope=DELEGATED)
        self.assertEqual(status, 200, second)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        state = self.entra.refresh_token_state(second["refresh_token"])
        self.assertEqual(state["rotated_from"], first["refresh_token"])
        status, _, _ = self.token(grant_type="refresh_token",
                                  client_id="public",
                                  refresh_token=first["refresh_token"])
        self.assertEqual(status, 200)

    def test_revoked(self):
        # Revoked tokens get invalid_grant with AADSTS50173 or 70008.
        for reason, aadsts in [("refresh_revoked", 50173),
                               ("refresh_inactive", 70008)]:
            with self.subTest(reason=reason):
                token = self.signed_in()["refresh_token"]
                self.entra.revoke(token, reason)
                self.assertOAuthError(self.token(
                    grant_type="refresh_token", client_id="public",
                    refresh_token=token), "invalid_grant", aadsts)

    def test_unknown_and_other_clients_token(self):
        # Unknown tokens, and another client's token, are invalid_grant.
        token = self.signed_in()["refresh_token"]
        self.assertOAuthError(self.token(
            grant_type="refresh_token", client_id="public",
            refresh_token="never-issued"), "invalid_grant")
        self.assertOAuthError(self.token(
            grant_type="refresh_token", client_id="denied",
            refresh_token=token), "invalid_grant")


class ClientCredentialsTest(EntraCase):

    def assertion(self, key="app", **claims):
        cert = fake_entra.RsaPublicKey(self.entra.app_cert(
            "app" if key == "app" else key))
        header = {"alg": "RS256", "typ": "JWT", "x5t": cert.x5t}
        now = int(time.time())
        body = {"aud": f"https://127.0.0.1:{self.entra.port}/{TENANT}"
                       f"/oauth2/v2.0/token",
                "iss": "app", "sub": "app", "jti": str(uuid.uuid4()),
                "nbf": now, "iat": now, "exp": now + 600}
        body.update(claims)
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(body).encode()))
        signature = sign_rs256(signing_input.encode(),
                               self.entra.app_key(key))
        return signing_input + "." + b64url(signature)

    def credentials(self, assertion=None, **form):
        fields = dict(grant_type="client_credentials", client_id="app",
                      scope=fake_entra.SCOPE_APP)
        if assertion is not None:
            fields.update(client_assertion_type=fake_entra.ASSERTION_TYPE,
                          client_assertion=assertion)
        fields.update(form)
        return self.token(**fields)

    def test_secret(self):
        # The right secret gets an app token without refresh token; a
        # wrong one gets 401 invalid_client AADSTS7000215.
        status, body, _ = self.credentials(client_secret=SECRET)
        self.assertEqual(status, 200, body)
        self.assertNotIn("refresh_token", body)
        self.assertEqual(body["scope"], fake_entra.SCOPE_APP)
        self.assertOAuthError(self.credentials(client_secret="nope"),
                              "invalid_client", 7000215, status=401)

    def test_scope_must_be_default(self):
        # Client credentials need the /.default scope (AADSTS1002012).
        self.assertOAuthError(self.credentials(client_secret=SECRET,
                                               scope=DELEGATED),
                              "invalid_scope", 1002012)

    def test_assertion_signed_by_openssl(self):
        # An assertion signed by the openssl tool verifies; the grant is
        # recorded as an assertion and the header and claims kept.
        status, body, _ = self.credentials(self.assertion())
        self.assertEqual(status, 200, body)
        self.assertEqual(self.entra.grants[-1]["auth"], "assertion")
        self.assertEqual(self.entra.assertions[0]["header"]["alg"], "RS256")

    def test_assertion_refusals(self):
        # Tampering, another certificate, a replayed jti, the wrong
        # audience and an expired assertion are all refused.
        good = self.assertion()
        head, claims, sig = good.split(".")
        tampered_claims = json.loads(base64.urlsafe_b64decode(
            claims + "=" * (-len(claims) % 4)))
        tampered_claims["sub"] = "app"
        tampered_claims["jti"] = "x" + tampered_claims["jti"]
        tampered = ".".join([head, b64url(json.dumps(
            tampered_claims).encode()), sig])
        cases = [
            ("tampered", tampered, 700027),
            ("other certificate", self.assertion("other-app"), 700027),
            ("wrong audience", self.assertion(aud="https://elsewhere/"),
             None),
            ("expired", self.assertion(exp=int(time.time()) - 10), 700024),
            ("wrong issuer", self.assertion(iss="someone"), None),
        ]
        for name, assertion, aadsts in cases:
            with self.subTest(name=name):
                self.assertOAuthError(self.credentials(assertion),
                                      "invalid_client", aadsts, status=401)
        self.assertEqual(self.credentials(good)[0], 200)
        self.assertOAuthError(self.credentials(good), "invalid_client",
                              status=401)     # replayed jti

    def test_rs256_verifier(self):
        # The pure-Python PKCS#1 v1.5 check accepts openssl's signature and
        # refuses any flipped bit.
        key = fake_entra.RsaPublicKey(self.entra.app_cert())
        data = b"header.claims"
        signature = sign_rs256(data, self.entra.app_key())
        self.assertTrue(key.verify_rs256(data, signature))
        self.assertFalse(key.verify_rs256(b"header.claimz", signature))
        flipped = bytearray(signature)
        flipped[100] ^= 1
        self.assertFalse(key.verify_rs256(data, bytes(flipped)))
        self.assertFalse(key.verify_rs256(data, signature[1:]))


class AuthorizeTest(EntraCase):

    def authorize(self, client_id="public", verifier="v" * 43,
                  redirect="http://127.0.0.1:4321", method="S256"):
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        return self.request("GET", "authorize", query={
            "client_id": client_id, "response_type": "code",
            "redirect_uri": redirect, "scope": DELEGATED, "state": "st-1",
            "code_challenge": challenge, "code_challenge_method": method})

    def code_from(self, answer):
        status, _, headers = answer
        self.assertEqual(status, 302)
        location = headers["Location"]
        self.assertTrue(location.startswith("http://127.0.0.1:4321?"),
                        location)
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.assertEqual(query["state"], "st-1")
        return query

    def exchange(self, code, verifier="v" * 43,
                 redirect="http://127.0.0.1:4321"):
        return self.token(grant_type="authorization_code",
                          client_id="public", code=code,
                          redirect_uri=redirect, code_verifier=verifier,
                          scope=DELEGATED)

    def test_code_and_pkce(self):
        # The redirect carries code and state; the exchange checks the
        # S256 challenge (RFC 7636 4.6), and the code is single use.
        code = self.code_from(self.authorize())["code"]
        self.assertOAuthError(self.exchange(code, verifier="w" * 43),
                              "invalid_grant", 501481)
        code = self.code_from(self.authorize())["code"]
        status, body, _ = self.exchange(code)
        self.assertEqual(status, 200, body)
        self.assertIn("refresh_token", body)
        self.assertOAuthError(self.exchange(code), "invalid_grant")

    def test_redirect_rules(self):
        # Loopback redirects match without their port; others are refused
        # (AADSTS50011) and a redirect URI change fails the exchange.
        status, body, _ = self.authorize(redirect="https://evil.example/")
        self.assertEqual(status, 400)
        self.assertIn("AADSTS50011", body)
        code = self.code_from(self.authorize())["code"]
        self.assertOAuthError(self.exchange(
            code, redirect="http://127.0.0.1:9999"), "invalid_grant")

    def test_plain_pkce_and_denial(self):
        # PKCE "plain" is refused in the redirect; a declining user comes
        # back with error=access_denied.
        query = self.code_from(self.authorize(method="plain"))
        self.assertEqual(query["error"], "invalid_request")
        query = self.code_from(self.authorize(client_id="denied"))
        self.assertEqual(query["error"], "access_denied")
        self.assertNotIn("code", query)


class UpstreamTest(EntraCase):
    options = {"access_token_lifetime": 60}

    def setUp(self):
        super().setUp()
        self.m365 = fake_m365.FakeM365("submission", pki=PKI)
        self.m365.token_validator = self.entra.token_validator()
        self.m365.users[USER] = {"full_access": []}
        self.m365.users["shared@contoso.com"] = {
            "full_access": ["app-principal"]}
        self.m365.start()

    def tearDown(self):
        self.m365.stop()
        self.assertEqual(self.m365.errors, [])
        super().tearDown()

    def smtp_auth(self, user, token):
        client = smtplib.SMTP("127.0.0.1", self.m365.port, timeout=10)
        try:
            client.starttls(context=self.context)
            client.ehlo("device.contoso.com")
            raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
            code, _ = client.docmd("AUTH", "XOAUTH2")
            self.assertEqual(code, 334)
            return client.docmd(base64.b64encode(raw.encode()).decode())[0]
        finally:
            client.close()

    def test_delegated_token_accepted_until_expiry(self):
        # A device-code token opens the user's mailbox over XOAUTH2 until
        # it expires on the fake's clock, then gets 535.
        code = self.device_code()["device_code"]
        status, body, _ = self.poll("public", code)
        self.assertEqual(status, 200)
        self.assertEqual(self.smtp_auth(USER, body["access_token"]), 235)
        self.entra.advance(61)
        self.assertEqual(self.smtp_auth(USER, body["access_token"]), 535)
        self.assertEqual(self.smtp_auth(USER, "never-issued"), 535)

    def test_app_token_for_full_access_mailbox(self):
        # An app token's principal opens a mailbox it has FullAccess on.
        status, body, _ = self.token(
            grant_type="client_credentials", client_id="app",
            scope=fake_entra.SCOPE_APP, client_secret=SECRET)
        self.assertEqual(status, 200)
        self.assertEqual(
            self.smtp_auth("shared@contoso.com", body["access_token"]), 235)
        self.assertEqual(self.smtp_auth(USER, body["access_token"]), 535)


class TlsAndCliTest(unittest.TestCase):

    def test_untrusted_certificate(self):
        # With untrusted_cert the fake serves the rogue chain, which a
        # client trusting the test CA refuses.
        entra = fake_entra.FakeEntra(pki=PKI, untrusted_cert=True)
        with entra:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", entra.port, timeout=10,
                context=ssl.create_default_context(cafile=PKI.ca_cert))
            with self.assertRaises(ssl.SSLCertVerificationError):
                conn.request("GET", "/_fake/state")
            conn.close()
            entra.wait_until(lambda f: f.counters().get(
                "tls_handshake_failures", 0) == 1)

    def test_command_line(self):
        # As a subprocess: the port alone on the first line, the state at
        # /_fake/state, and an exit when stdin closes.
        script = json.dumps({"clients": {"c": {"public": True}},
                             "interval": 3})
        proc = subprocess.Popen(
            [sys.executable, os.path.join(FAKES, "fake_entra.py"),
             "--port", "0", "--pki-dir", PKI.directory, "--script", script],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            port = int(proc.stdout.readline())
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=10,
                context=ssl.create_default_context(cafile=PKI.ca_cert))
            conn.request("POST", f"/{TENANT}/oauth2/v2.0/devicecode",
                         body="client_id=c&scope=" +
                         urllib.parse.quote(DELEGATED),
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"})
            self.assertEqual(json.loads(conn.getresponse().read())
                             ["interval"], 3)
            conn.request("GET", "/_fake/state")
            state = json.loads(conn.getresponse().read())
            self.assertEqual(state["errors"], [])
            conn.close()
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=10), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
