// Command goro-bench-go is the Go twin of goro's benchmark suite
// (bench/src): the same workloads, written as a Go programmer would.
//
//	goro-bench-go <area/workload> [--quick] [--reps N]
//
// prints one line per repetition:
//
//	RESULT <area/workload/go> <value> <unit>
//
// GOMAXPROCS is set by the runner. Every repetition checks its result and
// panics (exit code 2) when it is wrong.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
)

type workload struct {
	unit string
	run  func(quick bool) float64
}

var workloads = map[string]workload{
	"spawn/spawn_join":         {"ns/op", spawnJoin},
	"spawn/skynet":             {"ns/op", skynet},
	"spawn/parked_mem":         {"B/goroutine", parkedMem},
	"spawn/parked_mutex_mem":   {"B/goroutine", parkedMutexMem},
	"chan/pingpong_unbuffered": {"ns/op", pingpong},
	"chan/mpmc_4x4":            {"ns/op", mpmc},
	"chan/select4":             {"ns/op", select4},
	"chan/worker_pool":         {"ns/op", workerPool},
	"sync/mutex_contended":     {"ns/op", mutexContended},
	"sync/mutex_uncontended":   {"ns/op", mutexUncontended},
	"sync/rwmutex_read_heavy":  {"ns/op", rwmutexReadHeavy},
	"sync/waitgroup":           {"ns/op", waitGroup},
	"net/echo":                 {"ns/op", echo},
	"sched/one_bad_goroutine":  {"us(max)", oneBadGoroutine},
}

func usage() {
	ids := make([]string, 0, len(workloads))
	for id := range workloads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(os.Stderr, "usage: goro-bench-go <workload> [--quick] [--reps N]\n       goro-bench-go shop [--addr A] [--workers N] [--queue N] [--delay-us N]\nworkloads:\n")
	for _, id := range ids {
		fmt.Fprintf(os.Stderr, "  %s\n", id)
	}
	os.Exit(2)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "shop" {
		shopMain(os.Args[2:]) // the net/shop server (shop.go)
		return
	}
	id, quick, reps := "", false, 1
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--quick":
			quick = true
		case "--reps":
			i++
			if i >= len(args) {
				usage()
			}
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 {
				usage()
			}
			reps = n
		default:
			if id != "" || len(a) > 0 && a[0] == '-' {
				usage()
			}
			id = a
		}
	}
	w, ok := workloads[id]
	if !ok {
		usage()
	}
	for r := 0; r < reps; r++ {
		v := w.run(quick)
		fmt.Printf("RESULT %s/go %g %s\n", id, v, w.unit)
	}
}

// n picks the full or the quick size (the pairs mirror bench/src).
func n(quick bool, size [2]int) int {
	if quick {
		return size[1]
	}
	return size[0]
}

func check(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf(format, args...))
	}
}
