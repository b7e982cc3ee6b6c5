package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A machine directory (.world/machines/<name>) holds:
//   bin/       this binary, hard-linked as kubeadm, kubelet and (with GPUs) nvidia-smi
//   machine/   baseline settings, one file each: name, node-id, ip, kubeadm-version, gpus
//   faults/    one file per active fault (see docs/world.md)
//   ssh/       the machine's sshd_config, host keys and authorized_keys
//   logs/      init and sshd logs
// The stand-ins find it from their own location: <machine dir>/bin/<tool>.

type machine struct {
	dir string
}

func currentMachine() machine {
	if d := os.Getenv("AIOS_WORLD_MACHINE_DIR"); d != "" {
		return machine{dir: d}
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return machine{dir: filepath.Dir(filepath.Dir(exe))}
}

func readTrim(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (m machine) setting(name, def string) string {
	if v, ok := readTrim(filepath.Join(m.dir, "machine", name)); ok && v != "" {
		return v
	}
	return def
}

// fault returns the fault's argument (possibly empty) and whether it is active.
func (m machine) fault(name string) (string, bool) {
	return readTrim(filepath.Join(m.dir, "faults", name))
}

func (m machine) version() string {
	if v, ok := m.fault("version"); ok && v != "" {
		return v
	}
	return m.setting("kubeadm-version", "v1.36.3")
}

func (m machine) gpus() int {
	s := m.setting("gpus", "0")
	if v, ok := m.fault("gpus"); ok && v != "" {
		s = v
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (m machine) ip() string { return m.setting("ip", "") }

func (m machine) hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return m.setting("name", "localhost")
}
