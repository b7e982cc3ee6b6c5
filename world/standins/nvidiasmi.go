package main

import (
	"fmt"
	"os"
	"strings"
)

const gpuModel = "NVIDIA A100-SXM4-40GB"
const gpuMemMiB = 40960

// nvidia-smi stand-in: supports the CSV query our inventory reader uses and a
// plain "-L" listing.
func nvidiaSMI(args []string) int {
	m := currentMachine()
	n := m.gpus()
	if n == 0 {
		fmt.Println("No devices were found")
		return 6
	}
	var query, format string
	list := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--query-gpu="):
			query = strings.TrimPrefix(a, "--query-gpu=")
		case a == "--query-gpu" && i+1 < len(args):
			i++
			query = args[i]
		case strings.HasPrefix(a, "--format="):
			format = strings.TrimPrefix(a, "--format=")
		case a == "--format" && i+1 < len(args):
			i++
			format = args[i]
		case a == "-L" || a == "--list-gpus":
			list = true
		}
	}
	if list {
		for i := 0; i < n; i++ {
			fmt.Printf("GPU %d: %s (UUID: GPU-00000000-0000-0000-0000-%012d)\n", i, gpuModel, i)
		}
		return 0
	}
	if query == "" {
		fmt.Printf("+-----------------------------------------------------------------------------------------+\n")
		fmt.Printf("| NVIDIA-SMI 550.54.15 (aios world stand-in)   Driver Version: 550.54.15    CUDA Version: 12.4 |\n")
		for i := 0; i < n; i++ {
			fmt.Printf("|   %d  %s   %dMiB |\n", i, gpuModel, gpuMemMiB)
		}
		return 0
	}
	noheader := strings.Contains(format, "noheader")
	nounits := strings.Contains(format, "nounits")
	if !strings.HasPrefix(format, "csv") {
		fmt.Fprintln(os.Stderr, "ERROR: Only the csv format is supported by this stand-in")
		return 2
	}
	fields := strings.Split(query, ",")
	if !noheader {
		var hs []string
		for _, f := range fields {
			f = strings.TrimSpace(f)
			switch f {
			case "memory.total":
				if nounits {
					hs = append(hs, "memory.total [MiB]")
				} else {
					hs = append(hs, "memory.total [MiB]")
				}
			default:
				hs = append(hs, f)
			}
		}
		fmt.Println(strings.Join(hs, ", "))
	}
	for i := 0; i < n; i++ {
		var vs []string
		for _, f := range fields {
			switch strings.TrimSpace(f) {
			case "name":
				vs = append(vs, gpuModel)
			case "memory.total":
				if nounits {
					vs = append(vs, fmt.Sprint(gpuMemMiB))
				} else {
					vs = append(vs, fmt.Sprintf("%d MiB", gpuMemMiB))
				}
			case "index":
				vs = append(vs, fmt.Sprint(i))
			case "uuid":
				vs = append(vs, fmt.Sprintf("GPU-00000000-0000-0000-0000-%012d", i))
			case "count":
				vs = append(vs, fmt.Sprint(n))
			default:
				fmt.Fprintf(os.Stderr, "Field \"%s\" is not a valid field to query.\n", strings.TrimSpace(f))
				return 2
			}
		}
		fmt.Println(strings.Join(vs, ", "))
	}
	return 0
}
