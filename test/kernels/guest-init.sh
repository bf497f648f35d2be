#!/bin/busybox sh
# /init of the test VM: mounts what nft needs, loads the netfilter modules, runs check.sh on the
# cases, prints the marker the host waits for, and powers off. Everything goes to the console.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mkdir -p /run/netns
label=$(cat /kernel-label)
echo "guest: kernel $(uname -r) ($label) up"
# The kernel asks for further nft expression modules through /sbin/modprobe (busybox's).
for m in $(cat /modules.wanted); do
  modprobe "$m" 2>/tmp/modprobe.err || echo "guest: modprobe $m failed: $(cat /tmp/modprobe.err)"
done
sh /kernels/check.sh /cases "$label" /kernels/expected-failures.txt
status=$?
echo "SLUICE-KERNEL-TEST-EXIT=$status"
sync
poweroff -f
