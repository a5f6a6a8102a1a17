package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func nsPer(d time.Duration, ops int) float64 { return float64(d.Nanoseconds()) / float64(ops) }

func sumBelow(n int) int { return n * (n - 1) / 2 }

// spawn/spawn_join: N goroutines each write their index into a slice; a
// WaitGroup joins them.
func spawnJoin(quick bool) float64 {
	n := n(quick, spawnJoinN)
	start := time.Now()
	results := make([]int, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			results[i] = i
			wg.Done()
		}(i)
	}
	wg.Wait()
	sum := 0
	for _, r := range results {
		sum += r
	}
	elapsed := time.Since(start)
	check(sum == sumBelow(n), "spawn_join sum %d", sum)
	return nsPer(elapsed, n)
}

// spawn/skynet: the canonical skynet (github.com/atemerev/skynet, go/skynet.go).
func skynetNode(c chan int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	sum := 0
	for i := 0; i < div; i++ {
		subNum := num + i*(size/div)
		go skynetNode(rc, subNum, size/div, div)
	}
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynet(quick bool) float64 {
	n := n(quick, skynetLeaves)
	start := time.Now()
	c := make(chan int)
	go skynetNode(c, 0, n, 10)
	sum := <-c
	elapsed := time.Since(start)
	check(sum == sumBelow(n), "skynet sum %d", sum)
	return nsPer(elapsed, n)
}

// spawn/parked_mem: resident bytes per goroutine blocked in <-ch.
var parked, woken atomic.Int64

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	check(err == nil, "read /proc/self/statm: %v", err)
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	check(err == nil, "parse statm: %v", err)
	return pages * int64(os.Getpagesize())
}

func parkedMem(quick bool) float64 {
	n := n(quick, parkedN)
	parked.Store(0)
	woken.Store(0)
	ch := make(chan struct{})
	before := rssBytes()
	for i := 0; i < n; i++ {
		go func() {
			parked.Add(1)
			_, ok := <-ch
			check(!ok, "nobody sends: only the close wakes")
			woken.Add(1)
		}()
	}
	for parked.Load() < int64(n) {
		runtime.Gosched()
	}
	after := rssBytes()
	close(ch)
	for woken.Load() < int64(n) {
		runtime.Gosched()
	}
	return float64(after-before) / float64(n)
}

// spawn/parked_mutex_mem: resident bytes per goroutine blocked in
// mu.Lock() on a held package-level mutex.
var parkedMu sync.Mutex

func parkedMutexMem(quick bool) float64 {
	n := n(quick, parkedN)
	parked.Store(0)
	woken.Store(0)
	parkedMu.Lock()
	before := rssBytes()
	for i := 0; i < n; i++ {
		go func() {
			parked.Add(1)
			parkedMu.Lock()
			parkedMu.Unlock()
			woken.Add(1)
		}()
	}
	for parked.Load() < int64(n) {
		runtime.Gosched()
	}
	after := rssBytes()
	parkedMu.Unlock()
	for woken.Load() < int64(n) {
		runtime.Gosched()
	}
	return float64(after-before) / float64(n)
}
