# Guest side of the WiFi checks (phone.rs sources this in busybox sh). The hotspot's own
# hostapd runs on the first radio of mac80211_hwsim; the second radio lives in a network
# namespace of its own, held by a sleeping process: that is the phone. Its tools
# (wpa_supplicant, iw, curl) are the test image's .debs (checks/vm/client.nix), unpacked
# here into /run, never into the image.
V=/run/vmtest
C=$V/client
export LD_LIBRARY_PATH=$C/usr/lib/aarch64-linux-gnu:$C/lib/aarch64-linux-gnu
export PATH=$C/usr/sbin:$C/usr/bin:$C/sbin:$C/bin:$PATH

ap_if() { sed -n 's/^interface=//p' /etc/hostapd/hostapd.conf; }

# The access point's frequency (MHz), from its channel: scans and associations that name
# it take a fraction of a second instead of a sweep over every channel.
ap_freq() {
	ch=$(sed -n 's/^channel=//p' /etc/hostapd/hostapd.conf)
	if [ "$ch" -le 14 ]; then echo $((2407 + 5 * ch)); else echo $((5000 + 5 * ch)); fi
}

phone_pid() { cat $V/phone.pid; }

# Waits until hostapd beacons (`iw … info` shows the SSID only then).
ap_wait() {
	ap=$(ap_if)
	i=0
	until iw dev "$ap" info 2>/dev/null | grep -q '^[[:space:]]*ssid '; do
		i=$((i + 1))
		[ $i -lt 360 ] || fail "hostapd did not start the access point on $ap within 180 s: $(iw dev "$ap" info 2>&1)"
		sleep 0.5
	done
	echo "access point up after $((i / 2)) s"
}

# Runs a program in the phone's network namespace.
in_phone() { nsenter -t "$(phone_pid)" -n "$@"; }

fail() {
	echo "$*"
	exit 1
}

# Idempotent: the phone's tools, the simulated radios, hostapd on the first, the phone
# holding the second.
wifi_setup() {
	mkdir -p $C
	if [ ! -e $V/unpacked ]; then
		set -- /data/nixspot-vmtest/client/*.deb
		[ -e "$1" ] || fail "no .deb in /data/nixspot-vmtest/client: this check needs the test hotspot (checks/vm/hotspot.nix)"
		for d in "$@"; do dpkg-deb -x "$d" $C || fail "dpkg-deb -x $d failed"; done
		: >$V/unpacked
	fi
	ap=$(ap_if)
	[ -n "$ap" ] || fail "/etc/hostapd/hostapd.conf names no interface"
	# the test image's init loads mac80211_hwsim (two radios) in the background
	i=0
	until [ -e "/sys/class/net/$ap" ]; do
		i=$((i + 1))
		[ $i -lt 120 ] || fail "no interface $ap after 60 s"
		sleep 0.5
	done
	[ -e "/sys/class/net/$ap/phy80211" ] ||
		fail "$ap is no radio (the init's dummy stand-in: mac80211_hwsim did not load, or $ap is not one of its radios): $(ls /sys/class/net)"
	if [ ! -e $V/phone.pid ]; then
		phone=
		for n in /sys/class/net/*/phy80211; do
			i=${n%/phy80211}
			i=${i##*/}
			[ "$i" != "$ap" ] && phone=$i
		done
		[ -n "$phone" ] || fail "no second radio: $(ls /sys/class/net)"
		phy=$(cat "/sys/class/net/$phone/phy80211/name")
		unshare -n sleep 2147483647 </dev/null >/dev/null 2>&1 &
		pid=$!
		own=$(readlink /proc/self/ns/net)
		i=0
		while [ "$(readlink /proc/$pid/ns/net)" = "$own" ]; do
			i=$((i + 1))
			[ $i -lt 100 ] || fail "unshare -n did not start"
			sleep 0.1
		done
		iw phy "$phy" set netns "$pid" || fail "iw phy $phy set netns failed"
		echo "$pid" >$V/phone.pid
		in_phone ip link set lo up
		in_phone ip link set "$phone" name phone0 || fail "renaming $phone in the phone's namespace failed"
	fi
	ap_wait
	cat >$V/udhcpc.sh <<'EOF'
#!/bin/sh
# udhcpc's hook for the phone: the address and route in the phone's namespace only (the
# file system is shared: resolv.conf stays the device's), and the lease on stdout.
case "$1" in
deconfig) ip addr flush dev "$interface" ;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
	echo "lease ip=$ip mask=$mask router=$router dns=$dns"
	;;
esac
EOF
	chmod 755 $V/udhcpc.sh
}

# Forgets the network, then becomes a new phone: a new MAC address $1 (so a new DHCP
# lease and, for the portal, a client it never saw).
phone_reset() {
	phone_stop
	in_phone ip addr flush dev phone0
	in_phone ip link set phone0 down
	in_phone ip link set phone0 address "$1" || fail "cannot set the phone's MAC address to $1"
	in_phone ip link set phone0 up
}

phone_stop() {
	if [ -e $V/wpas.pid ]; then
		kill "$(cat $V/wpas.pid)" 2>/dev/null
		rm -f $V/wpas.pid
		sleep 0.3
	fi
	in_phone iw dev phone0 disconnect 2>/dev/null
	return 0
}

# What the phone's scan of the access point's channel finds: the access points heard
# during this scan only. Passive: a hidden network answers no broadcast probe, only its
# beacons show it. `flush` is not enough to leave out what an earlier scan heard: the
# kernel has been seen to keep an entry that stopped beaconing (an access point being
# restarted by `reconfigure`: hostapd derives the WPA2 key before it beacons, seconds
# under emulation), so entries last heard before the scan are dropped here, and a scan
# that heard nothing is tried again. Each try is bounded: under emulation the kernel has
# been seen never to report a scan's end, and `iw … scan` then waits forever; the stuck
# scan is aborted and the next try starts a new one.
phone_scan() {
	f=$(ap_freq)
	i=0
	: >$V/scan.log
	while :; do
		timeout 15 nsenter -t "$(phone_pid)" -n iw dev phone0 scan freq "$f" flush passive >$V/scan.all 2>&1
		r=$?
		# the BSS blocks whose `last seen: N ms ago` is within the scan's few seconds
		awk '/^BSS /{ if (b != "" && fresh) printf "%s", b; b = ""; fresh = 0 }
			/^[[:space:]]*last seen: [0-9]+ ms ago/{ if ($3 + 0 < 3000) fresh = 1 }
			{ b = b $0 "\n" }
			END { if (b != "" && fresh) printf "%s", b }' $V/scan.all >$V/scan
		[ $r -eq 0 ] && grep -q '^BSS ' $V/scan && break
		echo "try $((i + 1)): iw exited with $r, heard $(grep -c '^BSS ' $V/scan) access point(s) in this scan; iw said: $(head -c 200 $V/scan.all | tr '\n\t' '  ')" >>$V/scan.log
		[ $r -eq 143 ] && in_phone iw dev phone0 scan abort >>$V/scan.log 2>&1
		i=$((i + 1))
		[ $i -lt 10 ] || break
		sleep 1
	done
	cat $V/scan
	# the retries, for a failure's message (a scan without the SSID fails the check)
	[ $i -eq 0 ] || sed 's/^/phone_scan: /' $V/scan.log
}

# Associates with WPA2-PSK: $1 SSID, $2 passphrase. Prints `connected` or `refused`
# (wpa_supplicant's reason on the next lines).
phone_wpa() {
	phone_stop
	cat >$V/wpas.conf <<EOF
ctrl_interface=$V/wpas
network={
	ssid="$1"
	key_mgmt=WPA-PSK
	psk="$2"
	scan_ssid=1
	scan_freq=$(ap_freq)
}
EOF
	: >$V/wpas.log
	nsenter -t "$(phone_pid)" -n wpa_supplicant -D nl80211 -i phone0 -c $V/wpas.conf >$V/wpas.log 2>&1 </dev/null &
	echo $! >$V/wpas.pid
	i=0
	while :; do
		if grep -q 'CTRL-EVENT-CONNECTED' $V/wpas.log; then
			echo connected
			return 0
		fi
		if grep -q 'WRONG_KEY\|4-Way Handshake failed' $V/wpas.log; then
			echo refused
			grep 'WRONG_KEY\|4-Way Handshake failed' $V/wpas.log
			return 0
		fi
		i=$((i + 1))
		[ $i -lt 120 ] || fail "wpa_supplicant neither connected nor was refused within 60 s: $(tail -20 $V/wpas.log)"
		sleep 0.5
	done
}

# Associates with an open network $1 (named: it may be hidden).
phone_open() {
	phone_stop
	# bounded, as a scan is (phone_scan): `-w` waits for the kernel's connect event
	timeout 30 nsenter -t "$(phone_pid)" -n iw dev phone0 connect -w "$1" "$(ap_freq)" ||
		fail "iw connect \"$1\" failed or gave no answer within 30 s (exit $?)"
	in_phone iw dev phone0 link
}

# Waits until the phone's IPv6 link-local address is usable (duplicate address detection
# done), so that a refused IPv6 connection says something about the hotspot.
phone_ipv6_ready() {
	# the moved interface may come without one (a phone always has one): give it its own
	if ! in_phone cat /proc/net/if_inet6 | grep -q ' phone0$'; then
		in_phone sysctl -q -w net.ipv6.conf.phone0.disable_ipv6=0
		in_phone ip -6 addr add fe80::99:1/64 dev phone0 || fail "cannot give the phone an IPv6 link-local address"
	fi
	i=0
	until in_phone cat /proc/net/if_inet6 | grep -q ' phone0$' &&
		! in_phone cat /proc/net/if_inet6 | grep ' phone0$' | grep -q ' [4-7c-f][0-9a-f] [0-9a-f]* *phone0$'; do
		i=$((i + 1))
		[ $i -lt 40 ] || fail "the phone's IPv6 link-local address stayed tentative: $(in_phone cat /proc/net/if_inet6)"
		sleep 0.5
	done
}

# A DHCP lease from the hotspot: prints the hook's `lease ip=… router=… dns=…`.
phone_dhcp() {
	in_phone udhcpc -i phone0 -n -q -t 6 -T 2 -s $V/udhcpc.sh || fail "no DHCP lease"
}
