"""The SMTP protocol side of the fake Microsoft 365 upstream.

Session is aiosmtpd's SMTP protocol class (python3-aiosmtpd 1.4) with
Exchange Online's replies: aiosmtpd keeps reading command lines,
dispatching them, discarding plaintext pipelined after STARTTLS and the TLS
upgrade itself; this class answers each command as Microsoft does (texts in
m365_policy.REPLIES) and asks its FakeM365 (fake_m365.py) for every policy
decision and state change. One Session per client connection.
"""

import asyncio
import base64
import binascii
import collections
import datetime
import email.utils
import secrets
from asyncio import sslproto

from aiosmtpd.smtp import MISSING, SMTP as AiosmtpdSMTP, TLSSetupException

from m365_policy import REPLIES


def _cert_names(peercert):
    """The DNS SANs and CN of a getpeercert() dict, lower-cased."""
    names = []
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind == "DNS":
            names.append(value.lower())
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and value.lower() not in names:
                names.append(value.lower())
    return names


class _Dispatch(dict):
    """aiosmtpd's command table, wrapped to log each command line to the
    transcript (AUTH redacted) and to answer unknown verbs as Exchange."""

    def __init__(self, session, methods):
        super().__init__(methods)
        self.session = session

    def get(self, command, default=None):
        method = super().get(command)
        session = self.session

        async def run(arg):
            if command == "AUTH" and arg and len(arg.split()) > 1:
                session.log("C", "AUTH " + arg.split()[0] + " ********")
            else:
                session.log("C", command + (" " + arg if arg else ""))
            if method is None:
                await session.push(session.reply("unknown_command",
                                                 command=command))
                return
            await method(arg)

        return run


class _Handler:
    """aiosmtpd needs a handler object; all logic lives in Session."""

    def __init__(self, session):
        self.session = session

    async def handle_exception(self, error):
        return self.session.on_exception(error)


class Session(AiosmtpdSMTP):
    """One client connection. aiosmtpd creates one per connection."""

    # aiosmtpd sizes its StreamReader with this: XOAUTH2 continuation lines
    # carry tokens well over 4 KB (M365-FACTS 2.1).
    line_length_limit = 1 << 20

    def __init__(self, fake, loop):
        self.fake = fake
        self.conn_id = "08DE" + secrets.token_hex(6).upper()
        self.peer_ip = None
        self.tls_version = None
        self.client_cert_names = []
        self.auth_user = None
        self._registered_mailbox = None
        self._fake_closed = False
        self._reset_transaction()
        date = email.utils.format_datetime(
            datetime.datetime.now(datetime.timezone.utc).replace(
                microsecond=0))
        banner = self.reply("banner", date=date)
        super().__init__(
            _Handler(self),
            hostname=fake.server_name,
            ident=banner.split(" ", 2)[2],
            tls_context=fake._tls_context() if fake.offer_starttls else None,
            data_size_limit=None,
            enable_SMTPUTF8=True,
            timeout=fake.idle_timeout,
            loop=loop,
        )
        # Per instance: the class-level dict of aiosmtpd is shared.
        self.command_size_limits = collections.defaultdict(
            lambda: 512, {"AUTH": 1 << 20, "MAIL": 2048, "RCPT": 2048})
        self._smtp_methods = _Dispatch(self, self._smtp_methods)

    # ---- helpers ---------------------------------------------------------

    def log(self, direction, line):
        self.fake._log(self.conn_id, direction, line)

    def reply(self, name, **kw):
        return self.fake._reply(name, conn_id=self.conn_id,
                                ip=self.peer_ip or "127.0.0.1", **kw)

    def _reset_transaction(self):
        self.in_transaction = False
        self.mail_from = None
        self.mail_params = {}
        self.rcpt_params = {}
        self.body_bytes = 0
        self.bdat_chunks = []
        self.bdat_too_big = False

    def _set_rset_state(self):
        super()._set_rset_state()
        self._reset_transaction()

    def _set_post_data_state(self):
        super()._set_post_data_state()
        self._reset_transaction()

    @property
    def tls_active(self):
        return self._tls_protocol is not None

    def on_exception(self, error):
        if isinstance(error, TLSSetupException):
            self.fake._count("tls_handshake_failures")
            self.log("I", f"TLS handshake failed: {error.__cause__!r}")
            return ""
        self.fake._record_error(error)
        return self.reply("internal_error", error=repr(error))

    # ---- connection life -------------------------------------------------

    def connection_made(self, transport):
        starttls = (self._original_transport is not None
                    and self.transport is not None)
        super().connection_made(transport)
        if starttls:
            ssl_object = transport.get_extra_info("ssl_object")
            self.tls_version = ssl_object.version()
            self.client_cert_names = _cert_names(
                transport.get_extra_info("peercert"))
            self.log("I", f"TLS {self.tls_version} cipher="
                     f"{ssl_object.cipher()[0]} client_cert="
                     f"{','.join(self.client_cert_names) or '-'}")
        else:
            peer = transport.get_extra_info("peername")
            self.peer_ip = peer[0] if peer else None
            self.fake._session_opened(self)

    def connection_lost(self, error):
        if not self._fake_closed:
            self._fake_closed = True
            self.fake._session_closed(self)
        super().connection_lost(error)

    async def _handle_client(self):
        try:
            if self.fake._take_fault("fault_connect_421"):
                self.fake._count("refused_connects")
                await self.push(REPLIES["busy_421"])
                self.transport.close()
                return
            await super()._handle_client()
        except (asyncio.CancelledError, ConnectionError):
            pass

    async def push(self, status):
        text = status.decode() if isinstance(status, bytes) else status
        delay = self.fake.fault_reply_delay
        if delay and text[3:4] != "-":
            await asyncio.sleep(delay)
        self.log("S", text)
        if self.transport is None or self.transport.is_closing():
            return
        await super().push(status)

    # ---- commands --------------------------------------------------------

    async def smtp_HELO(self, hostname):
        if not hostname:
            return await self.push(self.reply("bad_domain"))
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        await self.push("250 " + self.reply("hello"))

    async def smtp_EHLO(self, hostname):
        if not hostname:
            return await self.push(self.reply("bad_domain"))
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        lines = [self.reply("hello"),
                 f"SIZE {self.fake.advertised_size}",
                 "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
        if self.tls_active:
            if self.fake.personality == "submission":
                lines.append("AUTH LOGIN XOAUTH2")
        elif self.tls_context:
            lines.append("STARTTLS")
        lines += ["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
        for i, line in enumerate(lines):
            await self.push(("250 " if i == len(lines) - 1 else "250-")
                            + line)

    async def smtp_NOOP(self, arg):
        await self.push(REPLIES["noop"])

    async def smtp_RSET(self, arg):
        self._set_rset_state()
        await self.push(REPLIES["rset"])

    async def smtp_QUIT(self, arg):
        await self.push(REPLIES["quit"])
        self._handler_coroutine.cancel()
        self.transport.close()

    async def smtp_STARTTLS(self, arg):
        if arg:
            return await self.push(self.reply("syntax"))
        if self.tls_active:
            return await self.push(self.reply("bad_sequence"))
        if not self.tls_context:
            return await self.push(self.reply("no_tls"))
        await self.push(REPLIES["starttls"])
        # As aiosmtpd's own STARTTLS: put an SSLProtocol between the
        # socket transport and this protocol, then wait for the handshake;
        # connection_made() runs again once it is done.
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(
            self.loop, self, self.tls_context, waiter, server_side=True)
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            raise TLSSetupException() from error

    async def smtp_AUTH(self, arg):
        fake = self.fake
        if fake.personality != "submission" or not self.tls_active:
            # AUTH is advertised only after STARTTLS on submission (5).
            return await self.push(self.reply("auth_unknown_mech"))
        if not self.session.host_name:
            return await self.push(REPLIES["need_helo"])
        if self.auth_user:
            return await self.push(REPLIES["auth_already"])
        args = (arg or "").split()
        if not 1 <= len(args) <= 2:
            return await self.push(self.reply("syntax"))
        mechanism = args[0].upper()
        initial = args[1] if len(args) == 2 else None
        if mechanism == "LOGIN":
            await self._auth_login(initial)
        elif mechanism == "XOAUTH2":
            await self._auth_xoauth2(initial)
        else:
            await self.push(self.reply("auth_unknown_mech"))

    async def _challenge(self, prompt):
        """334 prompt; the decoded answer, or None (reply already sent)."""
        answer = await self.challenge_auth(prompt)
        self.log("C", "********")
        return None if answer is MISSING else answer

    def _decode_initial(self, initial):
        if initial == "=":
            return b""
        try:
            return base64.b64decode(initial.encode(), validate=True)
        except (binascii.Error, ValueError):
            return None

    async def _auth_login(self, initial):
        if self.fake.basic_auth == "retired":
            return await self.push(self.reply("basic_retired"))
        if initial is None:
            user = await self._challenge(b"Username:")
        else:
            user = self._decode_initial(initial)
            if user is None:
                return await self.push(REPLIES["auth_bad_b64"])
        if user is None:
            return
        password = await self._challenge(b"Password:")
        if password is None:
            return
        user = user.decode("utf-8", "replace")
        mailbox, failure = self.fake._check_basic(
            user, password.decode("utf-8", "replace"))
        await self._finish_auth("LOGIN", mailbox, failure)

    async def _auth_xoauth2(self, initial):
        if initial is None:
            blob = await self._challenge(b"")
            if blob is None:
                return
        else:
            blob = self._decode_initial(initial)
            if blob is None:
                return await self.push(REPLIES["auth_bad_b64"])
        # user=<mailbox>^Aauth=Bearer <token>^A^A (M365-FACTS 2.1)
        fields = blob.split(b"\x01")
        user = token = None
        if len(fields) == 4 and fields[2:] == [b"", b""]:
            if fields[0].startswith(b"user="):
                user = fields[0][5:].decode("utf-8", "replace")
            if fields[1].startswith(b"auth=Bearer "):
                token = fields[1][12:].decode("ascii", "replace")
        if not user or not token:
            mailbox, failure = None, "auth_failed"
        else:
            mailbox, failure = self.fake._check_oauth(user, token)
        await self._finish_auth("XOAUTH2", mailbox, failure)

    async def _finish_auth(self, mechanism, mailbox, failure):
        if failure:
            self.fake._count("auth_failures")
            self.log("I", f"AUTH {mechanism} failed: {failure}")
            return await self.push(self.reply(failure))
        if not self.fake._register_mailbox(self, mailbox):
            return await self.push(self.reply("thread_limit"))
        self.auth_user = mailbox
        self.session.authenticated = True
        self.fake._count("auth_successes")
        self.log("I", f"AUTH {mechanism} ok mailbox={mailbox}")
        await self.push(REPLIES["auth_ok"])

    def _params(self, text, known):
        """ESMTP parameters as {KEY: value|True}; None on an unknown one
        (the offending name is then in self._bad_param)."""
        result = {}
        for word in text.split():
            key, eq, value = word.partition("=")
            key = key.upper()
            if key not in known or (eq and not value):
                self._bad_param = word
                return None
            result[key] = value if eq else True
        return result

    def _address(self, arg, keyword):
        """(address, rest) from "FROM:<a> params"; address None if bad."""
        if arg is None or arg[:len(keyword)].upper() != keyword:
            return None, None
        arg = arg[len(keyword):].strip()
        if arg.startswith("<>"):
            return "", arg[2:]
        address, rest = self._getaddr(arg)
        if not address or "@" not in address:
            return None, None
        return address, rest or ""

    async def smtp_MAIL(self, arg):
        fake = self.fake
        if not self.session.host_name:
            return await self.push(REPLIES["need_helo"])
        if fake.personality == "submission" and not self.auth_user:
            return await self.push(self.reply("not_authenticated"))
        if self.in_transaction:
            return await self.push(REPLIES["nested_mail"])
        address, rest = self._address(arg, "FROM:")
        if address is None:
            return await self.push(REPLIES["bad_address"])
        params = self._params(rest, {"SIZE", "BODY", "SMTPUTF8", "RET",
                                     "ENVID", "AUTH"})
        if params is None:
            return await self.push(self.reply("bad_param",
                                              param=self._bad_param))
        size = params.get("SIZE")
        if size is not None:
            if size is True or not size.isdigit():
                return await self.push(self.reply("syntax"))
            if int(size) > min(fake.advertised_size, fake.max_message_size):
                return await self.push(self.reply("too_big"))
        if params.get("BODY", "7BIT") not in (True, "7BIT", "8BITMIME",
                                              "BINARYMIME"):
            return await self.push(self.reply("syntax"))
        refusal = fake._check_mail(self, address)
        if refusal:
            return await self.push(refusal)
        self.in_transaction = True
        self.mail_from = address
        self.mail_params = params
        self.envelope.mail_from = address
        await self.push(REPLIES["mail_ok"])

    async def smtp_RCPT(self, arg):
        fake = self.fake
        if not self.session.host_name:
            return await self.push(REPLIES["need_helo"])
        if not self.in_transaction:
            return await self.push(REPLIES["need_mail"])
        address, rest = self._address(arg, "TO:")
        if not address:
            return await self.push(REPLIES["bad_address"])
        params = self._params(rest, {"NOTIFY", "ORCPT"})
        if params is None:
            return await self.push(self.reply("bad_param",
                                              param=self._bad_param))
        refusal = fake._check_rcpt(self, address)
        if refusal:
            return await self.push(refusal)
        self.envelope.rcpt_tos.append(address)
        self.rcpt_params[address] = params
        await self.push(REPLIES["rcpt_ok"])

    def _count_body(self, n):
        """Account n body bytes; True if the drop fault fired."""
        self.body_bytes += n
        limit = self.fake.fault_drop_after_bytes
        if limit is not None and self.body_bytes >= limit:
            if self.fake._take_fault("fault_drop_times"):
                self.fake._count("drops")
                self.log("I", f"fault: dropping connection after "
                              f"{self.body_bytes} body bytes")
                self.transport.abort()
                return True
        return False

    def _transfer_ready(self):
        if not self.session.host_name:
            return REPLIES["need_helo"]
        if not self.in_transaction:
            return REPLIES["need_mail"]
        if not self.envelope.rcpt_tos:
            return REPLIES["need_rcpt"]
        return None

    async def smtp_DATA(self, arg):
        refusal = self._transfer_ready()
        if refusal:
            return await self.push(refusal)
        if arg:
            return await self.push(self.reply("syntax"))
        await self.push(REPLIES["data_go"])
        limit = self.fake.advertised_size
        chunks, size, too_big = [], 0, False
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as e:
                line = await self._reader.read(e.consumed)
            except asyncio.IncompleteReadError:
                return
            if line == b".\r\n":
                break
            if self._count_body(len(line)):
                return
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size > limit:
                too_big = True
                chunks = []
            if not too_big:
                chunks.append(line)
        self.log("C", f"<message {size} bytes>")
        if too_big:
            self._set_post_data_state()
            return await self.push(self.reply("too_big"))
        await self._deliver(b"".join(chunks), "DATA")

    async def smtp_BDAT(self, arg):
        # RFC 3030. The chunk is read even when the command is refused, so
        # that the stream stays in step.
        words = (arg or "").split()
        if (not 1 <= len(words) <= 2 or not words[0].isdigit()
                or (len(words) == 2 and words[1].upper() != "LAST")):
            return await self.push(self.reply("syntax"))
        n, last = int(words[0]), len(words) == 2
        refusal = self._transfer_ready()
        remaining = n
        while remaining:
            try:
                piece = await self._reader.readexactly(min(remaining, 65536))
            except asyncio.IncompleteReadError:
                return
            remaining -= len(piece)
            if refusal:
                continue
            if self._count_body(len(piece)):
                return
            if not self.bdat_too_big:
                self.bdat_chunks.append(piece)
                if sum(map(len, self.bdat_chunks)) > self.fake.advertised_size:
                    self.bdat_too_big = True
                    self.bdat_chunks = []
        if refusal:
            return await self.push(refusal)
        if not last:
            return await self.push(REPLIES["bdat_ok"].format(n=n))
        if self.bdat_too_big:
            self._set_post_data_state()
            return await self.push(self.reply("too_big"))
        await self._deliver(b"".join(self.bdat_chunks), "BDAT")

    async def _deliver(self, raw, transfer):
        reply, delay, message = self.fake._check_message(self, raw, transfer)
        if delay:
            self.log("I", f"rate: carrying over, 250 delayed {delay:.2f}s")
            await asyncio.sleep(delay)
        if message:
            self.fake._record_message(message)
        self._set_post_data_state()
        await self.push(reply)
