#!/usr/bin/python3
"""Runs the unittest cases of one test module and prints TAP.

    /usr/bin/python3 taprunner.py path/to/test_x.py

One line per test as it finishes ("ok N - name", "not ok N - name" followed
by "# " diagnostic lines, "ok N - name # SKIP reason"), then the plan
"1..N" (a trailing plan: a failing setUpClass runs fewer tests than the
module holds, and it is reported as one more "not ok").  A test case may
define diagnostics() returning text (e.g. the tail of the daemon's log); it
is printed under a failure.  Exit status 1 if anything failed or nothing
ran.
"""
import importlib.util
import os
import sys
import time
import traceback
import unittest


def test_name(test):
    """module.Class.method, or unittest's description for a class or module
    fixture that failed."""
    test_id = getattr(test, 'id', None)
    name = test_id() if test_id else str(test)
    return name.replace('#', '').replace('\n', ' ')


class TapResult(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.number = 0
        self.failed = 0
        self.current = None  # the test between startTest and stopTest
        self.problems = []   # formatted failures of the current test
        self.skip_reason = None
        self.started_at = 0.0

    def emit(self, line):
        self.stream.write(line + '\n')
        self.stream.flush()

    def emit_diagnostics(self, text):
        for line in text.rstrip('\n').split('\n'):
            self.emit('# ' + line)

    def report(self, test, problems, skip_reason=None, elapsed=None):
        self.number += 1
        name = test_name(test)
        if skip_reason is not None:
            self.emit('ok %d - %s # SKIP %s'
                      % (self.number, name,
                         ' '.join(str(skip_reason).split())))
            return
        if not problems:
            suffix = '' if elapsed is None else ' (%.1fs)' % elapsed
            self.emit('ok %d - %s%s' % (self.number, name, suffix))
            return
        self.failed += 1
        self.emit('not ok %d - %s' % (self.number, name))
        for problem in problems:
            self.emit_diagnostics(problem)
        diagnostics = getattr(test, 'diagnostics', None)
        if callable(diagnostics):
            try:
                text = diagnostics()
            except Exception:  # diagnostics must never hide the failure
                text = 'diagnostics() failed:\n' + traceback.format_exc()
            if text:
                self.emit_diagnostics(text)

    # unittest.TestResult API

    def startTest(self, test):
        super().startTest(test)
        self.current = test
        self.problems = []
        self.skip_reason = None
        self.started_at = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        self.report(test, self.problems, self.skip_reason,
                    time.monotonic() - self.started_at)
        self.current = None

    def record(self, test, kind, err):
        text = '%s:\n%s' % (kind, self._exc_info_to_string(err, test))
        if test is self.current:
            self.problems.append(text)
        else:
            # setUpClass/setUpModule: no startTest/stopTest around it.
            self.report(test, [text])

    def addError(self, test, err):
        super().addError(test, err)
        self.record(test, 'ERROR', err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.record(test, 'FAIL', err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = ('FAIL' if issubclass(err[0], test.failureException)
                    else 'ERROR')
            self.record(test, '%s in %s' % (kind, subtest._subDescription()),
                        err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if test is self.current:
            self.skip_reason = reason
        else:
            self.report(test, [], skip_reason=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.problems.append('unexpected success of a test marked '
                             'expectedFailure')


def load_module(path):
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: taprunner.py TEST_MODULE.py\n')
        return 2
    result = TapResult(sys.stdout)
    try:
        module = load_module(argv[1])
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    except Exception:
        result.emit('not ok 1 - load %s' % argv[1])
        result.emit_diagnostics(traceback.format_exc())
        result.emit('1..1')
        return 1
    suite.run(result)
    result.emit('1..%d' % result.number)
    return 1 if result.failed or result.number == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
