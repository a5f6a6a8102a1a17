package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// echoMessage is the message client c sends in round r (as bench/src/net.rs).
func echoMessage(c, r int) [echoMsg]byte {
	var m [echoMsg]byte
	for i := range m {
		m[i] = byte(c*31 + r*7 + i)
	}
	return m
}

// net/echo: 1,000 TCP connections on loopback (dialed before the clock
// starts), each writing a 64-byte message and reading it back N times;
// server and clients in one process. ns per round trip.
func echo(quick bool) float64 {
	rounds := n(quick, echoRounds)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err == nil, "listen: %v", err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go func(c net.Conn) {
				defer c.Close()
				var buf [echoMsg]byte
				for {
					if _, err := io.ReadFull(c, buf[:]); err != nil {
						return
					}
					if _, err := c.Write(buf[:]); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	conns := make([]net.Conn, echoConns)
	var dial sync.WaitGroup
	for i := range conns {
		dial.Add(1)
		go func(i int) {
			defer dial.Done()
			c, err := net.Dial("tcp", ln.Addr().String())
			check(err == nil, "dial: %v", err)
			conns[i] = c
		}(i)
	}
	dial.Wait()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for ci, c := range conns {
		wg.Add(1)
		go func(ci int, c net.Conn) {
			defer wg.Done()
			var buf [echoMsg]byte
			for r := 0; r < rounds; r++ {
				m := echoMessage(ci, r)
				_, err := c.Write(m[:])
				check(err == nil, "write: %v", err)
				_, err = io.ReadFull(c, buf[:])
				check(err == nil, "read: %v", err)
				check(buf == m, "echo mismatch")
			}
			mu.Lock()
			total += rounds
			mu.Unlock()
		}(ci, c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	ln.Close()
	for _, c := range conns {
		c.Close()
	}
	check(total == echoConns*rounds, "round trips %d", total)
	return nsPer(elapsed, total)
}
