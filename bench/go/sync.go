package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// sync/mutex_contended: 8 goroutines increment one counter under a Mutex.
func mutexContended(quick bool) float64 {
	per := n(quick, contendedPerTask)
	start := time.Now()
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	wg.Add(tasks)
	for t := 0; t < tasks; t++ {
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	check(counter == tasks*per, "mutex_contended counter %d", counter)
	return nsPer(elapsed, tasks*per)
}

// sync/mutex_uncontended: lock, increment, unlock on one goroutine.
func mutexUncontended(quick bool) float64 {
	n := n(quick, uncontendedN)
	var mu sync.Mutex
	counter := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		counter++
		mu.Unlock()
	}
	elapsed := time.Since(start)
	check(counter == n, "mutex_uncontended counter %d", counter)
	return nsPer(elapsed, n)
}

// sync/rwmutex_read_heavy: 8 goroutines, every 10th op a write.
var rwSink atomic.Int64

func rwmutexReadHeavy(quick bool) float64 {
	per := n(quick, rwPerTask)
	start := time.Now()
	var mu sync.RWMutex
	value := 0
	var wg sync.WaitGroup
	wg.Add(tasks)
	for t := 0; t < tasks; t++ {
		go func() {
			defer wg.Done()
			seen := 0
			for i := 0; i < per; i++ {
				if i%writeEvery == 0 {
					mu.Lock()
					value++
					mu.Unlock()
				} else {
					mu.RLock()
					if value > seen {
						seen = value
					}
					mu.RUnlock()
				}
			}
			rwSink.Add(int64(seen))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	writes := tasks * ((per + writeEvery - 1) / writeEvery)
	check(value == writes, "rwmutex value %d, want %d", value, writes)
	return nsPer(elapsed, tasks*per)
}

// sync/waitgroup: rounds of Add(100), 100 goroutines calling Done, Wait.
func waitGroup(quick bool) float64 {
	rounds := n(quick, wgRounds)
	start := time.Now()
	var wg sync.WaitGroup
	var hits atomic.Int64
	for r := 1; r <= rounds; r++ {
		wg.Add(wgGroup)
		for i := 0; i < wgGroup; i++ {
			go func() {
				hits.Add(1)
				wg.Done()
			}()
		}
		wg.Wait()
		check(hits.Load() == int64(r*wgGroup), "waitgroup hits %d", hits.Load())
	}
	elapsed := time.Since(start)
	return nsPer(elapsed, rounds*wgGroup)
}
