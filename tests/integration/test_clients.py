"""Real SMTP clients (swaks, curl, Python's smtplib) deliver to mailbridged.

Each client sends: a plain message without Date or Message-ID, a message
to 50 recipients, an 8-bit UTF-8 message, and a 20 MiB message.  Each
delivery must end in "250 ... queued as ID" with queue/ID.eml and
queue/ID.env on disk: the envelope names the sender and every recipient
in order, and the .eml is our Received: field (plus Date: and Message-ID:
where the client sent none) followed by exactly the bytes the client sent.
"""
import base64
import email.utils
import os
import random
import re
import shutil
import smtplib
import subprocess
import unittest
import uuid

import mbtest

CLIENT_EHLO = 'client.mbtest.invalid'
SENDER = 'scanner@office.example'
RECIPIENT = 'someone@example.org'
UTF8_SENDER = 'jörg@bücher.example'
UTF8_RECIPIENT = 'zoë@exämple.org'
MAX_MESSAGE_SIZE = '25M'
CLIENT_TIMEOUT = 120 * mbtest.SCALE


def new_token():
    return uuid.uuid4().hex


def plain_message(token):
    """ASCII, CRLF, no Date and no Message-ID; a line that starts with a
    dot checks dot-stuffing on the way in and unstuffing in the relay."""
    return ('From: Office Scanner <%s>\r\n'
            'To: <%s>\r\n'
            'Subject: scan %s\r\n'
            'X-Test-Token: %s\r\n'
            '\r\n'
            'Scanned document %s attached in spirit.\r\n'
            '.a line that starts with a dot\r\n'
            '..two dots\r\n'
            '\r\n'
            'last line\r\n' % (SENDER, RECIPIENT, token, token, token)
            ).encode('ascii')


def utf8_message(token, utf8_headers):
    """8-bit UTF-8 body; raw UTF-8 in the header only for SMTPUTF8."""
    if utf8_headers:
        head = ('From: Jörg Müller <%s>\r\n'
                'To: Zoë <%s>\r\n'
                'Subject: Grüße aus Köln %s\r\n' % (UTF8_SENDER,
                                                      UTF8_RECIPIENT, token))
    else:
        head = ('From: <%s>\r\n'
                'To: <%s>\r\n'
                'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= %s\r\n' % (SENDER,
                                                                  RECIPIENT,
                                                                  token))
    return (head
            + 'X-Test-Token: %s\r\n'
              'MIME-Version: 1.0\r\n'
              'Content-Type: text/plain; charset=utf-8\r\n'
              'Content-Transfer-Encoding: 8bit\r\n'
              '\r\n'
              'Grüße, Zoë! Ünïcödé ✓ 日本語 🙂\r\n'
              'Ærøskøbing — «Anführungszeichen» € ½\r\n'
              '.Ünïcödé line starting with a dot\r\n' % token
            ).encode('utf-8')


def large_message(token, size):
    """At least @size bytes: base64 lines of seeded random data."""
    head = ('From: <%s>\r\nTo: <%s>\r\nSubject: large %s\r\n'
            'X-Test-Token: %s\r\nMIME-Version: 1.0\r\n'
            'Content-Type: application/octet-stream\r\n'
            'Content-Transfer-Encoding: base64\r\n\r\n'
            % (SENDER, RECIPIENT, token, token)).encode('ascii')
    raw = random.Random(token).randbytes(size * 3 // 4 + 1024)
    body = base64.encodebytes(raw).replace(b'\n', b'\r\n')
    message = head + body
    assert len(message) >= size
    return message


def idna_address(address):
    """What curl puts on the wire: the domain IDNA-encoded."""
    local, domain = address.rsplit('@', 1)
    return '%s@%s' % (local, domain.encode('idna').decode('ascii'))


class Swaks:
    name = 'swaks'
    smtputf8 = False
    # What curl and smtplib declare is tested with them; swaks sends 8-bit
    # data without BODY=8BITMIME, as many devices do.

    def __init__(self, testcase):
        self.testcase = testcase

    def run(self, sender, recipients, extra):
        relay = self.testcase.relay
        args = ['swaks', '--server', '%s:%d' % relay.address,
                '--helo', CLIENT_EHLO, '--from', sender,
                '--to', ','.join(recipients), '--suppress-data',
                '--timeout', str(CLIENT_TIMEOUT)] + extra
        result = subprocess.run(args, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=CLIENT_TIMEOUT)
        output = (result.stdout + result.stderr).decode('utf-8', 'replace')
        self.testcase.assertEqual(result.returncode, 0,
                                  'swaks failed:\n' + output)
        m = re.search(r'<-\s+250 .*queued as (\S+)', output)
        self.testcase.assertIsNotNone(m, 'no "queued as" in:\n' + output)
        return m.group(1)

    @staticmethod
    def transmitted(data):
        # swaks sends its data, then CRLF.CRLF: a data file that ends in a
        # line break gets one empty line more.
        return data + b'\r\n'

    def send(self, sender, recipients, data, smtputf8=False):
        path = os.path.join(self.testcase.workdir, 'swaks-%s.eml'
                            % new_token())
        with open(path, 'wb') as f:
            f.write(data)
        return self.run(sender, recipients, ['--data', '@' + path])


class Curl:
    name = 'curl'
    smtputf8 = True  # curl adds SMTPUTF8 for a non-ASCII address

    def __init__(self, testcase):
        self.testcase = testcase

    def send(self, sender, recipients, data, smtputf8=False):
        relay = self.testcase.relay
        path = os.path.join(self.testcase.workdir, 'curl-%s.eml'
                            % new_token())
        with open(path, 'wb') as f:
            f.write(data)
        args = ['curl', '--silent', '--show-error', '--verbose',
                '--max-time', str(CLIENT_TIMEOUT),
                'smtp://%s:%d/%s' % (relay.host, relay.port, CLIENT_EHLO),
                '--mail-from', sender]
        for r in recipients:
            args += ['--mail-rcpt', r]
        args += ['--upload-file', path]
        result = subprocess.run(args, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=CLIENT_TIMEOUT)
        output = (result.stdout + result.stderr).decode('utf-8', 'replace')
        self.testcase.assertEqual(result.returncode, 0,
                                  'curl failed:\n' + output)
        m = re.search(r'^< 250 .*queued as (\S+)', output, re.M)
        self.testcase.assertIsNotNone(m, 'no "queued as" in:\n' + output)
        return m.group(1)

    def envelope_address(self, address):
        return idna_address(address)


class Smtplib:
    name = 'smtplib'
    smtputf8 = True

    def __init__(self, testcase):
        self.testcase = testcase

    def send(self, sender, recipients, data, smtputf8=False):
        t = self.testcase
        relay = t.relay
        options = ['SMTPUTF8', 'BODY=8BITMIME'] if smtputf8 else []
        with smtplib.SMTP(relay.host, relay.port, local_hostname=CLIENT_EHLO,
                          timeout=CLIENT_TIMEOUT) as smtp:
            code, _ = smtp.ehlo()
            t.assertEqual(code, 250)
            code, msg = smtp.mail(sender, options)
            t.assertEqual(code, 250, msg)
            for r in recipients:
                code, msg = smtp.rcpt(r)
                t.assertEqual(code, 250, msg)
            code, msg = smtp.data(data)
            t.assertEqual(code, 250, msg)
            smtp.quit()
        m = re.search(r'queued as (\S+)', msg.decode('utf-8', 'replace'))
        t.assertIsNotNone(m, 'no "queued as" in %r' % msg)
        return m.group(1)


class ClientCases:
    """The four deliveries; a subclass names the client."""

    client_class = None
    relay_keys = {'max-message-size': MAX_MESSAGE_SIZE}

    def setUp(self):
        if self.client_class.name in ('swaks', 'curl') and \
                shutil.which(self.client_class.name) is None:
            self.skipTest('%s is not installed' % self.client_class.name)
        super().setUp()
        self.client = self.client_class(self)

    def envelope_address(self, address):
        convert = getattr(self.client, 'envelope_address', None)
        return convert(address) if convert else address

    def send(self, sender, recipients, data, smtputf8=False):
        """Sends @data; returns the queue id and the message as the client
        put it on the wire (unstuffed)."""
        queue_id = self.client.send(sender, recipients, data, smtputf8)
        transmitted = getattr(self.client, 'transmitted', None)
        return queue_id, transmitted(data) if transmitted else data

    def assertStored(self, queue_id, sender, recipients, sent, protocol,
                     added=('date', 'message-id')):
        """queue/ID.{eml,env} hold exactly what was sent, with our
        Received: first and the fields in @added between it and the
        client's bytes."""
        queue = self.relay.queue_dir()
        for suffix in ('.eml', '.env'):
            self.assertTrue(os.path.isfile(os.path.join(queue,
                                                        queue_id + suffix)),
                            'queue/%s%s is missing' % (queue_id, suffix))
        stored = mbtest.QueuedMessage(self.relay.spool, queue_id)

        self.assertEqual(stored.envelope.id, queue_id)
        self.assertEqual(stored.envelope.size, len(stored.eml))
        self.assertEqual(stored.envelope.sender, sender)
        self.assertEqual(stored.envelope.recipient_addresses, recipients)
        self.assertEqual([r.get('state') for r in stored.envelope.recipients],
                         ['queued'] * len(recipients))

        eml = stored.eml
        self.assertGreater(len(eml), len(sent))
        prefix_len = len(eml) - len(sent)
        if eml[prefix_len:] != sent:
            offset = next(i for i, (a, b) in enumerate(
                zip(eml[prefix_len:], sent)) if a != b)
            self.fail('the stored message differs from the sent one at '
                      'byte %d of %d: stored %r, sent %r'
                      % (offset, len(sent),
                         eml[prefix_len + offset:prefix_len + offset + 60],
                         sent[offset:offset + 60]))

        prefix = mbtest.header_fields(eml[:prefix_len] + b'\r\n')
        names = [name.lower() for name, _ in prefix]
        self.assertEqual(b''.join(raw for _, raw in prefix),
                         eml[:prefix_len],
                         'what precedes the client\'s bytes is not a '
                         'sequence of header fields')
        self.assertEqual(names[0], 'received',
                         'the first field is not our Received: %r'
                         % eml[:200])
        self.assertEqual(sorted(names[1:]), sorted(added),
                         'fields added before the client\'s bytes')

        received = mbtest.field_value(prefix[0][1])
        for needed in ('by ' + mbtest.HOSTNAME, '[127.0.0.1]',
                       'id ' + queue_id, 'with ' + protocol):
            self.assertRegex(received, r'(^|\s|\()%s(\s|;|\)|$)'
                             % re.escape(needed),
                             'Received: %s' % received)
        date_text = received.rsplit(';', 1)[1].strip()
        self.assertIsNotNone(email.utils.parsedate_to_datetime(date_text))

        for name, raw in prefix[1:]:
            value = mbtest.field_value(raw)
            if name.lower() == 'date':
                self.assertIsNotNone(email.utils.parsedate_to_datetime(value),
                                     'Date: %s' % value)
            else:
                self.assertRegex(value, r'^<[^<>@\s]+@[^<>@\s]+>$',
                                 'Message-ID: %s' % value)
        return stored

    def test_plain_message_is_queued_with_date_and_message_id_added(self):
        token = new_token()
        data = plain_message(token)
        queue_id, sent = self.send(SENDER, [RECIPIENT], data)
        self.assertStored(queue_id, SENDER, [RECIPIENT], sent, 'ESMTP')
        line = self.relay.wait_for_log(r'\bqueue-id=%s\b' % re.escape(queue_id))
        fields = mbtest.parse_log_fields(line)
        self.assertEqual(fields.get('client'), '127.0.0.1', line)
        self.assertEqual(fields.get('from'), '<%s>' % SENDER, line)
        self.assertEqual(fields.get('nrcpt'), '1', line)
        self.assertRegex(fields.get('size', ''), r'^\d+$', line)

    def test_fifty_recipients_are_all_in_the_envelope(self):
        token = new_token()
        recipients = ['rcpt-%02d-%s@example.org' % (i, token[:8])
                      for i in range(50)]
        data = plain_message(token)
        queue_id, sent = self.send(SENDER, recipients, data)
        self.assertStored(queue_id, SENDER, recipients, sent, 'ESMTP')

    def test_8bit_utf8_message_is_stored_byte_for_byte(self):
        token = new_token()
        smtputf8 = self.client.smtputf8
        data = utf8_message(token, utf8_headers=smtputf8)
        sender = UTF8_SENDER if smtputf8 else SENDER
        recipient = UTF8_RECIPIENT if smtputf8 else RECIPIENT
        queue_id, sent = self.send(sender, [recipient], data, smtputf8)
        self.assertStored(queue_id, self.envelope_address(sender),
                          [self.envelope_address(recipient)], sent,
                          'UTF8SMTP' if smtputf8 else 'ESMTP')

    def test_20_mib_message_is_stored_complete(self):
        token = new_token()
        data = large_message(token, 20 * 1024 * 1024)
        queue_id, sent = self.send(SENDER, [RECIPIENT], data)
        self.assertStored(queue_id, SENDER, [RECIPIENT], sent, 'ESMTP')


class SwaksTests(ClientCases, mbtest.RelayTestCase):
    client_class = Swaks

    def test_swaks_own_date_and_message_id_are_kept_not_duplicated(self):
        token = new_token()
        queue_id = self.client.run(SENDER, [RECIPIENT],
                                   ['--header', 'X-Test-Token: ' + token])
        stored = mbtest.QueuedMessage(self.relay.spool, queue_id)
        names = [name.lower() for name, _ in stored.header_fields()]
        self.assertEqual(names[0], 'received')
        self.assertEqual(names.count('date'), 1, names)
        self.assertEqual(names.count('message-id'), 1, names)
        self.assertEqual(stored.message['X-Test-Token'], token)


class CurlTests(ClientCases, mbtest.RelayTestCase):
    client_class = Curl


class SmtplibTests(ClientCases, mbtest.RelayTestCase):
    client_class = Smtplib


if __name__ == '__main__':
    unittest.main()
