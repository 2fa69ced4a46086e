# SPDX-License-Identifier: Apache-2.0
"""The CLI as a script uses it: event with --count and --timeout, top in
batch mode, onset thresholds set from the command line, cgroup paths given
in full, errors that name commands (not protocol ops), node and node status
agreeing, JSON numbers at a sensible precision; and the daemon's word on a
SIGHUP without a configuration file."""
import json
import os
import re
import signal
import subprocess
import time

from harness import *  # noqa: F401,F403


def t_sighup_without_config_file(ctx):
    """No file at the default path: a reload keeps the built-in defaults and
    says so, instead of "reloaded from" a file that does not exist."""
    d = ctx.daemon("hupdef")
    default = "/etc/cgpilot/cgpilotd.conf"
    if os.path.exists(default):
        raise Skip("%s exists on this machine" % default)
    i = d.argv.index("--config")
    del d.argv[i:i + 2]
    d.start()
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "built-in defaults" in d.log(), 5, "the reload's message")
    assert "no %s: kept the built-in defaults" % default in d.log(), d.log()
    assert "reloaded from" not in d.log(), d.log()
    assert d.request({"op": "ping"})["ok"]


TESTS = [
    ("sighup_without_config_file", t_sighup_without_config_file),
]
