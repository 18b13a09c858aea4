"""STARTTLS for LAN devices (RFC 3207).

The relay generates its certificate at first start into the configured
tls-certificate/tls-key paths, offers STARTTLS, and records "with ESMTPS"
in Received: for a message that came over TLS.  Devices do not verify the
relay's self-signed certificate, so the clients here do not either
(CERT_NONE); the tests check instead that the certificate the relay
presents is the one in the configured file.  Plaintext pipelined after
STARTTLS is discarded, never answered.
"""
import os
import re
import shutil
import smtplib
import ssl
import stat
import subprocess
import unittest
import uuid

import mbtest


def client_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def swaks_has_tls():
    if shutil.which('swaks') is None:
        return False
    result = subprocess.run(['swaks', '--support'], capture_output=True)
    return b'=== TLS supported' in result.stdout + result.stderr


class StartTlsTests(mbtest.RelayTestCase):

    def certificate_der(self):
        with open(self.relay.tls_certificate, encoding='ascii') as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def assertReceivedWithEsmtps(self, queue_id):
        stored = mbtest.QueuedMessage(self.relay.spool, queue_id)
        name, raw = stored.header_fields()[0]
        self.assertEqual(name.lower(), 'received')
        self.assertRegex(mbtest.field_value(raw), r'\bwith ESMTPS\b')

    def test_certificate_and_key_are_generated_at_first_start(self):
        with open(self.relay.tls_certificate, encoding='ascii') as f:
            self.assertIn('-----BEGIN CERTIFICATE-----', f.read())
        with open(self.relay.tls_key, encoding='ascii') as f:
            self.assertRegex(f.read(), r'-----BEGIN [A-Z ]*PRIVATE KEY-----')
        mode = stat.S_IMODE(os.stat(self.relay.tls_key).st_mode)
        self.assertEqual(mode & 0o077, 0, 'key file mode %o' % mode)

    def test_certificate_is_kept_across_restarts(self):
        before = self.certificate_der()
        self.relay.stop_cleanly()
        self.relay.start()
        self.assertEqual(self.certificate_der(), before)

    def test_smtplib_starttls_delivers_and_received_says_esmtps(self):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          local_hostname='client.mbtest.invalid',
                          timeout=mbtest.REPLY_TIMEOUT) as smtp:
            smtp.ehlo()
            self.assertTrue(smtp.has_extn('starttls'))
            code, msg = smtp.starttls(context=client_context())
            self.assertEqual(code, 220, msg)
            self.assertEqual(smtp.sock.getpeercert(binary_form=True),
                             self.certificate_der(),
                             'the relay presents another certificate than '
                             'its configured file')
            smtp.ehlo()
            # RFC 3207 4.2: not offered again once TLS is on.
            self.assertFalse(smtp.has_extn('starttls'))
            code, msg = smtp.mail('device@office.example')
            self.assertEqual(code, 250, msg)
            code, msg = smtp.rcpt('someone@example.org')
            self.assertEqual(code, 250, msg)
            code, msg = smtp.data(b'Subject: over TLS %s\r\n\r\nsecret\r\n'
                                  % uuid.uuid4().hex.encode())
            self.assertEqual(code, 250, msg)
            smtp.quit()
        queue_id = re.search(r'queued as (\S+)', msg.decode()).group(1)
        self.assertReceivedWithEsmtps(queue_id)

    def test_swaks_tls_delivers_and_received_says_esmtps(self):
        if not swaks_has_tls():
            self.skipTest('swaks without TLS support (needs '
                          'libnet-ssleay-perl)')
        result = subprocess.run(
            ['swaks', '--server', '%s:%d' % self.relay.address, '--tls',
             '--helo', 'client.mbtest.invalid',
             '--from', 'device@office.example', '--to', 'someone@example.org',
             '--timeout', str(mbtest.REPLY_TIMEOUT)],
            stdin=subprocess.DEVNULL, capture_output=True,
            timeout=4 * mbtest.REPLY_TIMEOUT)
        output = (result.stdout + result.stderr).decode('utf-8', 'replace')
        self.assertEqual(result.returncode, 0, 'swaks failed:\n' + output)
        self.assertIn('TLS started', output)
        m = re.search(r'<~\s+250 .*queued as (\S+)', output)
        self.assertIsNotNone(m, 'no "queued as" over TLS in:\n' + output)
        self.assertReceivedWithEsmtps(m.group(1))

    def test_plaintext_pipelined_after_starttls_is_not_answered(self):
        conn = self.smtp_session()
        conn.send(b'STARTTLS\r\nNOOP\r\n')
        self.assertReply(conn.read_reply(), 220)
        self.assertEqual(conn.buffer, b'',
                         'plaintext came after the 220 to STARTTLS')
        try:
            conn.sock = client_context().wrap_socket(conn.sock)
        except (ssl.SSLError, ConnectionError) as e:
            self.fail('TLS handshake after STARTTLS failed (a plaintext '
                      'answer to the pipelined NOOP?): %s' % e)
        # The first reply inside TLS must be the EHLO's, not a NOOP's.
        ehlo = conn.command('EHLO client.mbtest.invalid')
        self.assertReply(ehlo, 250)
        self.assertGreater(len(ehlo.lines), 1,
                           'the pipelined NOOP was answered: %s' % ehlo)
        self.assertNotIn('STARTTLS', [line[4:] for line in ehlo.lines])
        self.assertReply(conn.command('NOOP'), 250)
        self.assertReply(conn.command('QUIT'), 221)


if __name__ == '__main__':
    unittest.main()
