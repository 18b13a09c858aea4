#!/usr/bin/python3
"""Sums the results of one or more `meson test` runs.

Reads each build's meson-logs/testlog.json and counts every TAP result
line ("ok N", "not ok N") of every test, so a GTest binary with 40 cases
counts 40.  A test that failed without a single TAP failure line (a crash,
a timeout, a non-zero exit) counts as one failure.  Prints per build, then
one last line "N passed, N failed, N skipped" for CI.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')


def count(logfile):
    passed = failed = skipped = 0
    failures = []
    with open(logfile, encoding='utf-8') as f:
        for line in f:
            result = json.loads(line)
            test_passed = test_failed = test_skipped = 0
            for tap in (result.get('stdout') or '').splitlines():
                m = TAP_LINE.match(tap.strip())
                if not m:
                    continue
                if '# SKIP' in m.group(2).upper():
                    test_skipped += 1
                elif m.group(1) == 'ok' or '# TODO' in m.group(2).upper():
                    test_passed += 1
                else:
                    test_failed += 1
                    failures.append('%s: %s' % (result['name'], tap.strip()))
            if result['result'] in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS',
                                    'INTERRUPT') and test_failed == 0:
                test_failed = 1
                failures.append('%s: %s' % (result['name'], result['result']))
            if result['result'] == 'SKIP' and test_passed + test_failed == 0:
                test_skipped = max(test_skipped, 1)
            passed += test_passed
            failed += test_failed
            skipped += test_skipped
    return passed, failed, skipped, failures


def main():
    total = [0, 0, 0]
    for logfile in sys.argv[1:]:
        try:
            p, f, s, failures = count(logfile)
        except FileNotFoundError:
            print('%s: missing (that build ran no test)' % logfile)
            total[1] += 1
            continue
        print('%s: %d passed, %d failed, %d skipped' % (logfile, p, f, s))
        for failure in failures:
            print('  FAILED %s' % failure)
        total[0] += p
        total[1] += f
        total[2] += s
    print('%d passed, %d failed, %d skipped' % tuple(total))
    return 1 if total[1] or total[0] == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
