# SPDX-License-Identifier: Apache-2.0
# Exit 0 when the INI file has the line "#KEY = ..." in section S (the
# default configuration lists every key commented out). Used by test-packaging.
/^\[/ { in_s = ($0 == s) }
in_s && index($0, "#" k " =") == 1 { found = 1 }
END { exit !found }
