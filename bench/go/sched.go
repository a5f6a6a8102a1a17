package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Scheduler workloads: the twin of bench/src/sched.rs.

const (
	schedGood     = 1_000
	schedPeriod   = time.Millisecond
	schedBadBlock = 100 * time.Millisecond
)

// oneBadGoroutine: 1,000 goroutines each sleep to the next 1 ms tick while
// one goroutine blocks its thread in a nanosleep syscall for 100 ms, over
// and over (Go's sysmon hands its P to another thread). Returns the worst
// lateness of any tick in µs.
func oneBadGoroutine(quick bool) float64 {
	run := time.Duration(n(quick, schedRunMs)) * time.Millisecond
	start := time.Now().Add(20 * time.Millisecond)
	end := start.Add(run)
	worst := make([]time.Duration, schedGood)
	ticks := make([]int, schedGood)
	var wg sync.WaitGroup
	for i := 0; i < schedGood; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			deadline := start.Add(schedPeriod)
			for deadline.Before(end) {
				time.Sleep(time.Until(deadline))
				now := time.Now()
				if l := now.Sub(deadline); l > worst[i] {
					worst[i] = l
				}
				ticks[i]++
				deadline = deadline.Add(schedPeriod)
				for !deadline.After(now) {
					deadline = deadline.Add(schedPeriod)
				}
			}
		}(i)
	}
	var blocks atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Until(start))
		for time.Now().Before(end) {
			ts := syscall.NsecToTimespec(int64(schedBadBlock))
			for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
			}
			blocks.Add(1)
			runtime.Gosched()
		}
	}()
	wg.Wait()
	check(blocks.Load() > 0, "the bad goroutine never blocked")
	var w time.Duration
	for i := range worst {
		check(ticks[i] > 0, "goroutine %d never ticked", i)
		if worst[i] > w {
			w = worst[i]
		}
	}
	return float64(w.Nanoseconds()) / 1e3
}
