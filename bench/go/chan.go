package main

import (
	"sync"
	"time"
)

// chan/pingpong_unbuffered: a counter bounced through two unbuffered channels.
func pingpong(quick bool) float64 {
	n := n(quick, pingpongN)
	ping, pong := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(done)
	}()
	start := time.Now()
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	elapsed := time.Since(start)
	close(ping)
	<-done
	check(v == n, "pingpong counter %d", v)
	return nsPer(elapsed, n)
}

// chan/mpmc_4x4: 4 producers and 4 consumers on one channel of capacity 128.
func mpmc(quick bool) float64 {
	n := n(quick, mpmcN)
	start := time.Now()
	ch := make(chan int, chanCap)
	sums := make([]int, mpmcSides)
	var consumers, producers sync.WaitGroup
	consumers.Add(mpmcSides)
	for c := 0; c < mpmcSides; c++ {
		go func(c int) {
			defer consumers.Done()
			s := 0
			for v := range ch {
				s += v
			}
			sums[c] = s
		}(c)
	}
	producers.Add(mpmcSides)
	for p := 0; p < mpmcSides; p++ {
		go func(p int) {
			defer producers.Done()
			for v := p; v < n; v += mpmcSides {
				ch <- v
			}
		}(p)
	}
	producers.Wait()
	close(ch)
	consumers.Wait()
	total := 0
	for _, s := range sums {
		total += s
	}
	elapsed := time.Since(start)
	check(total == sumBelow(n), "mpmc sum %d", total)
	return nsPer(elapsed, n)
}

// chan/select4: one consumer selects over 4 channels until all are closed.
func select4(quick bool) float64 {
	per := n(quick, selectPerProducer)
	start := time.Now()
	var rx [selectArms]chan int
	for p := range rx {
		ch := make(chan int, chanCap)
		rx[p] = ch
		go func() {
			for seq := 0; seq < per; seq++ {
				ch <- seq
			}
			close(ch)
		}()
	}
	var next [selectArms]int
	r0, r1, r2, r3 := rx[0], rx[1], rx[2], rx[3]
	received, outOfOrder, open := 0, 0, selectArms
	got := func(arm, seq int) {
		if seq != next[arm] {
			outOfOrder++
		}
		next[arm] = seq + 1
		received++
	}
	for open > 0 {
		select {
		case v, ok := <-r0:
			if ok {
				got(0, v)
			} else {
				r0, open = nil, open-1
			}
		case v, ok := <-r1:
			if ok {
				got(1, v)
			} else {
				r1, open = nil, open-1
			}
		case v, ok := <-r2:
			if ok {
				got(2, v)
			} else {
				r2, open = nil, open-1
			}
		case v, ok := <-r3:
			if ok {
				got(3, v)
			} else {
				r3, open = nil, open-1
			}
		}
	}
	elapsed := time.Since(start)
	check(received == selectArms*per, "select4 received %d", received)
	check(outOfOrder == 0, "select4 %d out of order", outOfOrder)
	for _, nx := range next {
		check(nx == per, "select4 last sequence %v", next)
	}
	return nsPer(elapsed, selectArms*per)
}

// chan/worker_pool: a feeder, 8 workers, main sums the results.
func workerPool(quick bool) float64 {
	n := n(quick, workerPoolN)
	start := time.Now()
	jobs := make(chan int, chanCap)
	results := make(chan int, chanCap)
	go func() {
		for x := 0; x < n; x++ {
			jobs <- x
		}
		close(jobs)
	}()
	var wg sync.WaitGroup
	wg.Add(poolWorkers)
	for w := 0; w < poolWorkers; w++ {
		go func() {
			defer wg.Done()
			for x := range jobs {
				results <- x * 2
			}
		}()
	}
	sum := 0
	for i := 0; i < n; i++ {
		sum += <-results
	}
	wg.Wait()
	elapsed := time.Since(start)
	check(sum == 2*sumBelow(n), "worker_pool sum %d", sum)
	return nsPer(elapsed, n)
}
