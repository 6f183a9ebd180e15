#!/bin/bash
# The VM's job, from the data disk (started by kinc-vm-job): runs
# scenario.sh with every line on the second serial port (the host reads it
# as a file) and a copy on the data disk.
#
# With kinc.debug on the kernel command line (hack/vm/debug-vm.sh) it runs
# no scenario: it serves commands from the host's 9p share instead, each
# *.cmd file run once as root, its output in .out and exit code in .rc, until
# a file named "poweroff" appears. That is for developing the scenario and
# kinc's fixes without a reboot per try.
set -uo pipefail
out=/dev/ttyS1
# The rootless user writes there too (exported logs of a failed cluster).
mkdir -p /mnt/kinc/out
chmod 1777 /mnt/kinc/out
echo "KINC-VM-START $(date -u +%FT%TZ) $(uname -r)" >"$out"

if grep -qw kinc.debug /proc/cmdline; then
	mkdir -p /mnt/host
	if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 host /mnt/host; then
		echo "KINC-VM-FATAL cannot mount the 9p share" >"$out"
		exit 1
	fi
	echo "KINC-VM-DEBUG serving /mnt/host/*.cmd" >"$out"
	while [ ! -e /mnt/host/poweroff ]; do
		for f in /mnt/host/*.cmd; do
			[ -e "$f" ] || continue
			b=${f%.cmd}
			mv "$f" "$b.run"
			# In the background: a long command must not block a quick
			# look at the VM.
			(
				bash "$b.run" >"$b.out" 2>&1 </dev/null
				echo $? >"$b.rc.tmp"
				mv "$b.rc.tmp" "$b.rc"
			) &
		done
		sleep 1
	done
	exit 0
fi

bash /mnt/kinc/scenario.sh 2>&1 | tee /mnt/kinc/out/scenario.log >"$out"
rc=${PIPESTATUS[0]}
echo "KINC-VM-END rc=$rc $(date -u +%FT%TZ)" >"$out"
