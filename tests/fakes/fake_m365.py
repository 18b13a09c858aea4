#!/usr/bin/python3
"""A fake Microsoft 365 SMTP upstream for Mailbridge's integration tests.

Built on aiosmtpd (Debian's python3-aiosmtpd 1.4): aiosmtpd reads command
lines, dispatches them and does STARTTLS; m365_session.Session gives each
command Exchange Online's answers; this module holds the configuration, the
state tests read, and decides, per personality, what to accept:

  submission      smtp.office365.com:587: STARTTLS before AUTH LOGIN/XOAUTH2,
                  530 5.7.57 without AUTH, Send As, 3 connections per
                  mailbox, 30 messages a minute (delayed, never refused),
                  daily recipient quota, 35 MB mailbox size limit.
  mx-direct-send  the tenant MX host:25: no AUTH, accepted domains only
                  (5.7.54), unknown recipients (5.4.1), RejectDirectSend
                  (5.7.68), greylisting (451 4.7.500), 200 recipients of one
                  domain per transaction (452 4.5.3).
  mx-connector    the same host with an OnPremises inbound connector: relay
                  to anyone once attributed by TLS client certificate name or
                  sender IP (and cert or MAIL FROM domain accepted), else
                  550 5.7.64.

Sources: /work/shared/M365-FACTS.md, sections 1, 3, 4, 5, 6, 7. All reply
texts and default limits are tables in m365_policy.py; certificates come
from testpki.py.

In a test (the server runs in its own thread with its own asyncio loop):

    fake = FakeM365("submission", pki=testpki.ensure())
    fake.add_token("tok", "user@contoso.com", expires_in=3600)
    fake.users["user@contoso.com"] = {"password": "pw"}
    with fake:                      # start() ... stop()
        ... connect to fake.host, fake.port ...
        fake.wait_for_messages(1)
    fake.messages, fake.counters(), fake.transcript_lines()

By hand:
    python3 tests/fakes/fake_m365.py --personality submission --port 2587 \
        --config x.json [--pki-dir DIR] [--verbose] [--state-file out.json]

This is test code: it keeps everything in memory and trusts its caller.
"""

import argparse
import asyncio
import collections
import dataclasses
import datetime
import email.parser
import ipaddress
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import m365_policy  # noqa: E402
import testpki  # noqa: E402
from m365_policy import REPLIES  # noqa: E402
from m365_session import Session  # noqa: E402


@dataclasses.dataclass
class Message:
    """One accepted message, as the tests read it."""

    mail_from: str                  # "" for the null sender
    rcpt_tos: list
    data: bytes                     # raw, dot-unstuffed, CRLF line ends
    mail_options: dict              # MAIL parameters (SIZE, BODY, RET, ...)
    rcpt_options: dict              # {rcpt: {NOTIFY, ORCPT, ...}}
    auth_user: str                  # authenticated mailbox, or None
    tls_version: str                # "TLSv1.3", or None for plaintext
    client_cert_name: str           # connector: the attributing cert name
    client_cert_names: list         # every DNS name / CN the client presented
    conn_id: str
    peer_ip: str
    transfer: str                   # "DATA" or "BDAT"
    reply: str                      # the 250 reply the fake sent
    received_at: float


def _record_secret(value):
    """Hands a password or token this fake was given or shown to the
    secrets audit (tests/integration/mbtest.py, test_secret_audit.py), which
    then searches the relay's spool, logs and configuration for it.  A
    no-op when the fake runs outside the integration tests."""
    mbtest = sys.modules.get("mbtest")
    if mbtest is not None and value:
        mbtest.record_secret(value)


def _domain(address):
    return address.rpartition("@")[2].lower()


def _name_matches(name, pattern):
    """TlsSenderCertificateName matching: exact, or "*.d" for subdomains."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


class FakeM365:
    """The fake upstream: configuration, policy and state.

    Options are attributes (see m365_policy.COMMON / DEFAULTS); set them
    directly, with configure(**options) or load_config(path), before or
    while the server runs. State is read through messages, counters(),
    transcript and the wait_* methods; all of it is thread-safe.
    """

    def __init__(self, personality, pki=None, host="127.0.0.1", port=0,
                 **options):
        self.personality = personality
        self.host = host
        self.port = port
        self.pki = pki if pki is not None else testpki.ensure()
        self.token_validator = None
        for key, value in m365_policy.options_for(personality).items():
            setattr(self, key, value)
        self._option_names = set(m365_policy.options_for(personality))
        self.configure(**options)
        self.verbose = False
        self._lock = threading.Condition()
        self._loop = None
        self._thread = None
        self._server = None
        self._sessions = set()
        self.reset()

    # ---- configuration ---------------------------------------------------

    def configure(self, **options):
        """Set options by name; an unknown name raises KeyError."""
        for key, value in options.items():
            if key not in self._option_names:
                raise KeyError(f"{self.personality}: unknown option {key!r}")
            if key == "tokens":
                self.tokens = {}
                for token, spec in value.items():
                    self.add_token(token, **self._token_spec(spec))
                continue
            setattr(self, key, value)
        return self

    @staticmethod
    def _token_spec(spec):
        if isinstance(spec, dict):      # JSON: {"user":..,"expires_in":..}
            return {"principal": spec["user"],
                    "expires_in": spec.get("expires_in")}
        principal, expires_at = spec    # (principal, epoch or None)
        return {"principal": principal,
                "expires_in": None if expires_at is None
                else expires_at - time.time()}

    def load_config(self, path):
        with open(path) as f:
            return self.configure(**json.load(f))

    def add_token(self, token, principal, expires_in=3600):
        """Make token valid for principal (a mailbox or an app id) for
        expires_in seconds (None: forever; <= 0: already expired)."""
        _record_secret(token)
        self.tokens[token] = (
            principal,
            None if expires_in is None else time.time() + expires_in)

    @property
    def ca_file(self):
        """The CA a client must trust to verify this fake (route trust)."""
        return self.pki.ca_cert

    # ---- life ------------------------------------------------------------

    def _tls_context(self):
        """The server context for a new connection (rogue on the fault)."""
        if self.fault_untrusted_cert:
            chain, key = self.pki.rogue_server_chain, self.pki.rogue_server_key
        else:
            chain, key = self.pki.server_chain, self.pki.server_key
        cached = self._contexts.get(chain)
        if cached:
            return cached
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2    # 1.1: TLS 1.2+
        ctx.load_cert_chain(chain, key)
        if self.personality == "mx-connector":
            # Ask for a client certificate; verify it against the test root
            # only, so a client that omits the intermediate fails (6).
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(self.pki.ca_cert)
        self._contexts[chain] = ctx
        return ctx

    def start(self):
        """Listen on host:port (port 0: a free one, then in self.port)."""
        assert self._thread is None, "already started"
        self._contexts = {}
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_exception)
        ready = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(
                        lambda: Session(self, self._loop),
                        host=self.host, port=self.port))
            except Exception as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True,
                                        name=f"fake-m365-{self.personality}")
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        if self._thread is None:
            return

        async def shutdown():
            self._server.close()
            for session in list(self._sessions):
                transport = session.transport
                if transport is not None and not transport.is_closing():
                    transport.abort()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- state -----------------------------------------------------------

    def reset(self):
        """Forget messages, counters, transcript, greylist and rate data."""
        with self._lock:
            self._messages = []
            self._transcript = []
            self._errors = []
            self._counters = collections.Counter()
            self._rcpt_attempts = collections.Counter()
            self._active = collections.Counter()       # mailbox -> conns
            self._max_concurrent = collections.Counter()
            self._rate_times = collections.defaultdict(list)
            self._rate_violations = collections.Counter()
            self._quota_used = collections.defaultdict(list)
            self._greylist_seen = set()
            self._lock.notify_all()

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    @property
    def transcript(self):
        """[(time, conn_id, "C"|"S"|"I", line)]; AUTH data as ********."""
        with self._lock:
            return list(self._transcript)

    def transcript_lines(self, conn_id=None):
        return [f"{d}: {line}" for _, c, d, line in self.transcript
                if conn_id is None or c == conn_id]

    @property
    def errors(self):
        """Exceptions inside the fake itself (bugs): tests assert []."""
        with self._lock:
            return list(self._errors)

    def counters(self):
        """A snapshot: connections, refused_connects, tls_handshake_failures,
        auth_successes, auth_failures, thread_limit_refusals, drops,
        greylisted, rate_violations (total), rate_violations_by_mailbox,
        max_concurrent {mailbox: n} (including refused attempts),
        active {mailbox: n}, rcpt_attempts {address: n}, messages."""
        with self._lock:
            snap = {k: 0 for k in (
                "connections", "refused_connects", "tls_handshake_failures",
                "auth_successes", "auth_failures", "thread_limit_refusals",
                "drops", "greylisted", "rate_violations")}
            snap.update(self._counters)
            snap["rate_violations_by_mailbox"] = dict(self._rate_violations)
            snap["max_concurrent"] = dict(self._max_concurrent)
            snap["active"] = {k: v for k, v in self._active.items() if v}
            snap["rcpt_attempts"] = dict(self._rcpt_attempts)
            snap["messages"] = len(self._messages)
            return snap

    def wait_until(self, predicate, timeout=10.0):
        """Block until predicate(self) is true (re-checked on every state
        change); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fake_m365: condition not reached")
                self._lock.wait(left)

    def wait_for_messages(self, count, timeout=10.0):
        self.wait_until(lambda f: len(f._messages) >= count, timeout)
        return self.messages

    def state(self):
        """Everything as JSON-friendly data (for --state-file)."""
        return {
            "personality": self.personality,
            "counters": self.counters(),
            "messages": [dict(dataclasses.asdict(m),
                              data=m.data.decode("utf-8", "replace"))
                         for m in self.messages],
            "transcript": self.transcript_lines(),
            "errors": self.errors,
        }

    def _log(self, conn_id, direction, line):
        with self._lock:
            self._transcript.append((time.time(), conn_id, direction, line))
            self._lock.notify_all()
        if self.verbose:
            print(f"[{conn_id}] {direction}: {line}", file=sys.stderr)

    def _count(self, name, n=1):
        with self._lock:
            self._counters[name] += n
            self._lock.notify_all()

    def _record_error(self, error):
        text = "".join(traceback.format_exception(error))
        with self._lock:
            self._errors.append(text)
            self._lock.notify_all()
        print("fake_m365: internal error:\n" + text, file=sys.stderr)

    def _loop_exception(self, loop, context):
        error = context.get("exception")
        if isinstance(error, (ssl.SSLError, ConnectionError)):
            return          # a client that went away or failed TLS
        self._record_error(error or RuntimeError(context.get("message")))

    def _record_message(self, message):
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    def _take_fault(self, name):
        """Consume one unit of a counted fault; True if it fires."""
        with self._lock:
            left = getattr(self, name)
            if not left:
                return False
            if left > 0:
                setattr(self, name, left - 1)
            return True

    def _session_opened(self, session):
        self._sessions.add(session)
        self._count("connections")
        session.log("I", f"connect from {session.peer_ip}")

    def _session_closed(self, session):
        self._sessions.discard(session)
        with self._lock:
            if session._registered_mailbox:
                self._active[session._registered_mailbox] -= 1
            self._transcript.append((time.time(), session.conn_id, "I",
                                     "disconnect"))
            self._lock.notify_all()

    def _register_mailbox(self, session, mailbox):
        """Count an authenticated connection; False past the limit (3.1)."""
        key = mailbox.lower()
        with self._lock:
            current = self._active[key]
            self._max_concurrent[key] = max(self._max_concurrent[key],
                                            current + 1)
            if current >= self.max_connections_per_mailbox:
                self._counters["thread_limit_refusals"] += 1
                self._lock.notify_all()
                return False
            self._active[key] += 1
            session._registered_mailbox = key
            self._lock.notify_all()
            return True

    def _reply(self, name, conn_id="", **kw):
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{now.microsecond // 1000:03d}Z"
        return REPLIES[name].format(
            host=self.server_name, mbx=self.mailbox_server,
            short=f"[{self.tag_host}]",
            tag=f"[{self.tag_host} {stamp} {conn_id}]",
            conn_id=conn_id, **kw)

    # ---- policy: submission ----------------------------------------------

    def _user(self, address):
        for key, value in self.users.items():
            if key.lower() == address.lower():
                return value
        return None

    def _auth_switch_failure(self, mailbox):
        """SmtpClientAuthenticationDisabled, org and mailbox (1.4)."""
        per_mailbox = (self._user(mailbox) or {}).get("smtp_auth_disabled")
        if per_mailbox is True:
            return "auth_mailbox_disabled"
        if per_mailbox is None and self.smtp_auth_disabled_tenant:
            return "auth_tenant_disabled"
        return None

    def _check_basic(self, user, password):
        """(mailbox, None) or (None, reply name) for AUTH LOGIN."""
        entry = self._user(user)
        _record_secret(password)
        _record_secret((entry or {}).get("password"))
        if entry is None or entry.get("password") is None \
                or entry["password"] != password:
            return None, "auth_failed"
        if self.basic_auth == "disabled":
            return None, "auth_basic_disabled"
        if entry.get("ca_blocked"):
            return None, "auth_ca_blocked"
        failure = self._auth_switch_failure(user)
        return (None, failure) if failure else (user, None)

    def _validate_token(self, token):
        """Default validator: principal of an unexpired token, else None."""
        entry = self.tokens.get(token)
        if entry is None:
            return None
        principal, expires_at = entry
        if expires_at is not None and time.time() >= expires_at:
            return None
        return principal

    def _check_oauth(self, user, token):
        """(mailbox, None) or (None, reply name) for XOAUTH2: the token's
        principal must be the mailbox itself or hold FullAccess on it."""
        _record_secret(token)
        validator = self.token_validator or self._validate_token
        principal = validator(token)
        if principal is None:
            return None, "auth_failed"
        entry = self._user(user) or {}
        if principal.lower() != user.lower() and principal.lower() not in [
                p.lower() for p in entry.get("full_access", [])]:
            return None, "auth_failed"
        failure = self._auth_switch_failure(user)
        return (None, failure) if failure else (user, None)

    def _may_send_as(self, mailbox, sender):
        if not sender or sender.lower() == mailbox.lower():
            return True
        allowed = (self._user(mailbox) or {}).get("send_as", [])
        return sender.lower() in [a.lower() for a in allowed]

    # ---- policy: all personalities -----------------------------------------

    def _domain_accepted(self, domain, subdomains=False):
        domain = domain.lower()
        for accepted in self.accepted_domains:
            accepted = accepted.lower()
            if domain == accepted or (subdomains and
                                      domain.endswith("." + accepted)):
                return True
        return False

    def _attribution(self, session, sender):
        """Connector attribution (6): (attributed, cert name used)."""
        if self.personality != "mx-connector":
            return False, None
        cert_matches = [n for n in session.client_cert_names
                        if any(_name_matches(n, p)
                               for p in self.connector_cert_domains)]
        ip_match = False
        if session.peer_ip:
            ip = ipaddress.ip_address(session.peer_ip)
            ip_match = any(ip in ipaddress.ip_network(net, strict=False)
                           for net in self.connector_ips)
        if not cert_matches and not ip_match:
            return False, None
        cert_accepted = [n for n in cert_matches
                         if self._domain_accepted(n, subdomains=True)]
        if cert_accepted:
            return True, cert_accepted[0]
        if sender and self._domain_accepted(_domain(sender)):
            return True, cert_matches[0] if cert_matches else None
        return False, None

    def _check_mail(self, session, sender):
        """A refusal reply for MAIL FROM, or None."""
        if self.personality == "submission":
            if self.send_as_check == "mail" and \
                    not self._may_send_as(session.auth_user, sender):
                return session.reply("send_as_mail")
            return None
        if self.greylist:
            key = (sender.lower(), session.peer_ip)
            with self._lock:
                first = key not in self._greylist_seen
                self._greylist_seen.add(key)
                if first:
                    self._counters["greylisted"] += 1
                self._lock.notify_all()
            if first:
                return session.reply("greylist")
        return None

    def _scripted(self, address, attempt):
        """The scripted reply for this attempt, or None (normal handling)."""
        for key, script in self.rcpt_replies.items():
            if key.lower() == address.lower():
                if isinstance(script, list):
                    return script[attempt - 1] if attempt <= len(script) \
                        else None
                return script
        return None

    def _check_rcpt(self, session, rcpt):
        """A refusal reply for RCPT TO, or None."""
        with self._lock:
            self._rcpt_attempts[rcpt.lower()] += 1
            attempt = self._rcpt_attempts[rcpt.lower()]
            self._lock.notify_all()
        scripted = self._scripted(rcpt, attempt)
        if scripted:
            return scripted
        accepted = session.envelope.rcpt_tos
        if self.personality == "submission":
            if len(accepted) >= self.max_recipients_per_message:
                return session.reply("too_many_rcpts")
            return None
        domain = _domain(rcpt)
        if sum(1 for r in accepted if _domain(r) == domain) \
                >= self.max_recipients_per_domain:
            return session.reply("too_many_rcpts")
        attributed, _ = self._attribution(session, session.mail_from)
        if not self._domain_accepted(domain):
            if attributed:
                return None
            if self.personality == "mx-connector":
                return session.reply("tenant_attribution")
            return session.reply("relay_denied")
        if not attributed and self.reject_direct_send and \
                session.mail_from and \
                self._domain_accepted(_domain(session.mail_from)):
            return session.reply("reject_direct_send")
        if self.mailboxes and rcpt.lower() not in [
                m.lower() for m in self.mailboxes]:
            return session.reply("no_such_user", rcpt=rcpt)
        return None

    def _check_message(self, session, raw, transfer):
        """(reply, delay, Message or None) for a complete message."""
        if len(raw) > self.max_message_size:
            return session.reply("too_big"), 0, None
        rcpts = list(session.envelope.rcpt_tos)
        delay = 0
        headers = email.parser.BytesHeaderParser().parsebytes(raw)
        msgid = (headers.get("Message-ID") or "").strip() or \
            f"<{secrets.token_hex(16).upper()}@{self.mailbox_server}>"
        if self.personality == "submission":
            mailbox = session.auth_user.lower()
            if self.send_as_check == "data" and \
                    not self._may_send_as(mailbox, session.mail_from):
                return session.reply("send_as_data", user=mailbox,
                                     sender=session.mail_from), 0, None
            now = time.monotonic()
            with self._lock:
                used = self._quota_used[mailbox]
                used[:] = [(t, n) for t, n in used
                           if now - t < self.quota_window]
                if sum(n for _, n in used) + len(rcpts) > \
                        self.recipient_quota:
                    return session.reply("quota"), 0, None
                used.append((now, len(rcpts)))
                # 3.1: past 30 a minute, Exchange carries the submission
                # over to the next minute. Modelled as a delayed 250 and a
                # counter tests assert to stay 0.
                times = self._rate_times[mailbox]
                times[:] = [t for t in times if now - t < self.rate_window]
                if len(times) >= self.rate_limit:
                    self._counters["rate_violations"] += 1
                    self._rate_violations[mailbox] += 1
                    slot = times[-self.rate_limit] + self.rate_window
                    delay = min(max(0.0, slot - now), self.rate_delay_cap)
                times.append(now + delay)
                self._lock.notify_all()
            reply = session.reply("submission_ok", msgid=msgid)
        else:
            reply = session.reply(
                "mx_ok", msgid=msgid,
                internal_id=str(secrets.randbelow(9 * 10**12) + 10**12))
        _, cert_name = self._attribution(session, session.mail_from)
        message = Message(
            mail_from=session.mail_from, rcpt_tos=rcpts, data=raw,
            mail_options=dict(session.mail_params),
            rcpt_options=dict(session.rcpt_params),
            auth_user=session.auth_user, tls_version=session.tls_version,
            client_cert_name=cert_name or (session.client_cert_names or
                                           [None])[0],
            client_cert_names=list(session.client_cert_names),
            conn_id=session.conn_id, peer_ip=session.peer_ip,
            transfer=transfer, reply=reply, received_at=time.time())
        return reply, delay, message


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fake Microsoft 365 SMTP upstream (tests only).")
    parser.add_argument("--personality", required=True,
                        choices=m365_policy.PERSONALITIES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", help="JSON file of options")
    parser.add_argument("--pki-dir", help="test PKI directory "
                        "(generated if missing)")
    parser.add_argument("--state-file",
                        help="write counters, messages and the transcript "
                             "here as JSON on exit")
    parser.add_argument("--verbose", action="store_true",
                        help="print the transcript to stderr")
    args = parser.parse_args(argv)

    fake = FakeM365(args.personality, pki=testpki.ensure(args.pki_dir),
                    host=args.host, port=args.port)
    if args.config:
        fake.load_config(args.config)
    fake.verbose = args.verbose
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    fake.start()
    print(f"fake_m365 {args.personality} listening on "
          f"{fake.host}:{fake.port} (CA {fake.pki.ca_cert})", flush=True)
    stop.wait()
    fake.stop()
    if args.state_file:
        with open(args.state_file, "w") as f:
            json.dump(fake.state(), f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
