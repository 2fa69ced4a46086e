#!/bin/sh
# cgpilotd mounts bpffs itself; this only lets `make run` say so early.
grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts || mount -t bpf bpf /sys/fs/bpf
