package main

import (
	"crypto/sha256"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machine-init is PID 1 of a machine's PID namespace (started by
// scripts/world.sh through `ip netns exec … unshare --mount --pid --uts …`).
// It makes the machine's private bind mounts, sets its hostname, reaps
// orphans, and keeps the machine's sshd and fault port holders in the state
// that faults/ asks for: sshd runs unless faults/sshd-down exists and is
// restarted when its host key file changes; one port-holder runs per line of
// faults/port-taken.
func machineInit(args []string) int {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	host := currentMachine()
	name := host.setting("name", "machine")
	binds, err := host.mountMachineView()
	if err != nil {
		log.Printf("%v", err)
		return 1
	}
	// From here on the machine reaches its own folder only through the view.
	m := machine{dir: machineView}
	// What is mounted where, for readers on the host (the e2e suite reads machine files through it).
	if err := m.recordMounts(binds); err != nil {
		log.Printf("recording the mounts: %v", err)
		return 1
	}
	if err := syscall.Sethostname([]byte(name)); err != nil {
		log.Printf("sethostname: %v", err)
	}
	log.Printf("machine %s: init started (pid %d in its namespace)", name, os.Getpid())

	exited := make(chan int, 64)
	go func() {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, 0, nil)
			if err == syscall.ECHILD {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if err != nil || pid <= 0 {
				continue
			}
			exited <- pid
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	self := filepath.Join(m.dir, "bin", "aios-standin")
	sshdCfg := filepath.Join(m.dir, "ssh", "sshd_config")
	hostKey := filepath.Join(m.dir, "ssh", "ssh_host_ed25519_key")
	sshdLog := filepath.Join(m.dir, "logs", "sshd.log")
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

	sshdPid := 0
	var sshdKeySum [32]byte
	var sshdNext time.Time
	holders := map[string]int{}
	holderNext := map[string]time.Time{}

	start := func(argv ...string) (int, error) {
		p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
			Dir: "/", Env: env,
			Files: []*os.File{nil, os.Stdout, os.Stderr},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err != nil {
			return 0, err
		}
		pid := p.Pid
		_ = p.Release()
		return pid, nil
	}

	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		// sshd
		_, down := m.fault("sshd-down")
		keyBytes, _ := os.ReadFile(hostKey)
		sum := sha256.Sum256(keyBytes)
		if sshdPid != 0 && (down || sum != sshdKeySum) {
			log.Printf("stopping sshd (pid %d): down=%v keyChanged=%v", sshdPid, down, sum != sshdKeySum)
			_ = syscall.Kill(sshdPid, syscall.SIGTERM)
			sshdPid = -sshdPid // stopping; wait for the reaper
		}
		if sshdPid == 0 && !down && time.Now().After(sshdNext) {
			pid, err := start("/usr/sbin/sshd", "-D", "-f", sshdCfg, "-E", sshdLog)
			if err != nil {
				log.Printf("starting sshd: %v", err)
				sshdNext = time.Now().Add(time.Second)
			} else {
				sshdPid, sshdKeySum = pid, sum
				log.Printf("sshd started (pid %d)", pid)
			}
		}
		// port holders
		want := map[string]bool{}
		if spec, ok := m.fault("port-taken"); ok {
			for _, l := range strings.Split(spec, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					want[l] = true
				}
			}
		}
		for spec, pid := range holders {
			if !want[spec] && pid > 0 {
				log.Printf("stopping port holder %s (pid %d)", spec, pid)
				_ = syscall.Kill(pid, syscall.SIGTERM)
				holders[spec] = -pid
			}
		}
		for spec := range want {
			if _, running := holders[spec]; !running && time.Now().After(holderNext[spec]) {
				pid, err := start(self, "port-holder", spec)
				if err != nil {
					log.Printf("starting port holder %s: %v", spec, err)
				} else {
					holders[spec] = pid
					log.Printf("port holder %s started (pid %d)", spec, pid)
				}
				holderNext[spec] = time.Now().Add(2 * time.Second)
			}
		}
		select {
		case pid := <-exited:
			if pid == sshdPid || pid == -sshdPid {
				log.Printf("sshd (pid %d) exited", pid)
				if sshdPid > 0 {
					sshdNext = time.Now().Add(time.Second)
				}
				sshdPid = 0
			}
			for spec, hp := range holders {
				if hp == pid || hp == -pid {
					delete(holders, spec)
				}
			}
		case s := <-sigs:
			log.Printf("received %v: stopping every process of machine %s", s, name)
			_ = syscall.Kill(-1, syscall.SIGTERM)
			time.Sleep(500 * time.Millisecond)
			_ = syscall.Kill(-1, syscall.SIGKILL)
			return 0
		case <-tick.C:
		}
	}
}

// port-holder <port>[/tcp|/udp]: listen on all addresses of the machine.
func portHolder(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: port-holder <port>[/tcp|/udp]")
		return 2
	}
	portS, proto, _ := strings.Cut(args[0], "/")
	if proto == "" {
		proto = "tcp"
	}
	port, err := strconv.Atoi(portS)
	if err != nil || port <= 0 || port > 65535 || (proto != "tcp" && proto != "udp") {
		fmt.Fprintln(os.Stderr, "bad port spec:", args[0])
		return 2
	}
	addr := fmt.Sprintf(":%d", port)
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return 1
			}
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		_ = c.Close()
	}
}

// machineView is where a machine sees its own folder (.world/machines/<name>). A fixed path whose
// parents are root's and not writable by others: sshd's StrictModes refuses an authorized_keys file
// under a world-writable folder such as /tmp, and a clone under /tmp or /root would otherwise vanish
// behind the machine's private /tmp and /root. scripts/world.sh makes the mount point on the host.
const machineView = "/run/aios-machine"

// mountMachineView makes the machine's private mounts: its folder at machineView first, then, from the
// view, its own /etc/kubernetes, /var/lib/kubelet, /var/lib/aios-onboarding, /root and /tmp. It returns
// every bind as (folder on the host, path in the machine).
func (m machine) mountMachineView() ([][2]string, error) {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making / private: %w", err)
	}
	source, err := filepath.Abs(m.dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(machineView); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the mount point %s is missing on the host (scripts/world.sh up makes it)", machineView)
	}
	if err := syscall.Mount(source, machineView, "", syscall.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind mount %s on %s: %w", source, machineView, err)
	}
	binds := [][2]string{{source, machineView}}
	for _, target := range []string{"/etc/kubernetes", "/var/lib/kubelet", "/var/lib/aios-onboarding", "/root", "/tmp"} {
		folder := filepath.Join("fs", strings.ReplaceAll(strings.TrimPrefix(target, "/"), "/", "-"))
		if err := os.MkdirAll(filepath.Join(machineView, folder), 0o755); err != nil {
			return nil, err
		}
		if err := syscall.Mount(filepath.Join(machineView, folder), target, "", syscall.MS_BIND, ""); err != nil {
			return nil, fmt.Errorf("bind mount %s on %s: %w", filepath.Join(source, folder), target, err)
		}
		binds = append(binds, [2]string{filepath.Join(source, folder), target})
	}
	return binds, nil
}

// recordMounts writes machine/mounts: one "<path in the machine>\t<folder on the host>" line per bind.
func (m machine) recordMounts(binds [][2]string) error {
	var b strings.Builder
	for _, bind := range binds {
		fmt.Fprintf(&b, "%s\t%s\n", bind[1], bind[0])
	}
	file := filepath.Join(m.dir, "machine", "mounts")
	if err := os.WriteFile(file+".tmp", []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}
