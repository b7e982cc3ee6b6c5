// Command aios-standin is the AIOS world's multi-call stand-in binary: invoked
// as kubeadm, kubelet or nvidia-smi it behaves like those tools where the
// onboarding product depends on them (see docs/world.md); invoked as
// aios-standin it offers machine-init and port-holder for scripts/world.sh.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "aios-standin" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "kubeadm":
		os.Exit(kubeadmMain(args))
	case "kubelet":
		os.Exit(kubeletMain(args))
	case "nvidia-smi":
		os.Exit(nvidiaSMI(args))
	case "machine-init":
		os.Exit(machineInit(args))
	case "port-holder":
		os.Exit(portHolder(args))
	default:
		fmt.Fprintln(os.Stderr, "usage: aios-standin kubeadm|kubelet|nvidia-smi|machine-init|port-holder [args...]")
		os.Exit(2)
	}
}
