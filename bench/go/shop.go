package main

// The Go twin of goro's shop demo (examples/shop/): the same HTTP order
// service on net/http, for the net/shop benchmark.
//
//	goro-bench-go shop [--addr 127.0.0.1:0] [--workers 8] [--queue 1024] [--delay-us 200]
//
// prints "listening on ADDR" and serves until SIGINT or SIGTERM; then it
// shuts down gracefully (stop accepting, let connections finish, close the
// queue, wait for the workers), prints the final stats as one JSON line
// ("summary {...}") and exits 1 if an accepted order was not processed.
//
// POST /buy {"product": "...", "qty": N, "customer": N} queues the order
// on a buffered channel and answers 202 at once, or 503 with Retry-After
// when the queue is full, or 400 with a message for bad input. GET /stats
// reports the counters. The field names and messages match the Rust shop.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const maxQty = 100

type product struct {
	name       string
	priceCents uint64
	stock      uint64
}

type order struct {
	id       uint64
	product  int
	qty      uint32
	customer uint64
}

type shopStats struct {
	Accepted     uint64   `json:"accepted"`
	Processed    uint64   `json:"processed"`
	Queued       uint64   `json:"queued"`
	Rejected     uint64   `json:"rejected"`
	BadRequests  uint64   `json:"bad_requests"`
	Fulfilled    uint64   `json:"fulfilled"`
	Backordered  uint64   `json:"backordered"`
	Units        uint64   `json:"units"`
	RevenueCents uint64   `json:"revenue_cents"`
	PerWorker    []uint64 `json:"per_worker"`
	Stock        [][2]any `json:"stock"`
}

type totals struct {
	processed, fulfilled, backordered, units, revenueCents, receipts uint64
	perWorker                                                        []uint64
}

type shop struct {
	workers   int
	delay     time.Duration
	cpuRounds int
	maxBody   int64

	catalogMu sync.RWMutex
	catalog   []product

	totalsMu sync.Mutex
	totals   totals

	// closeMu guards the send against close(queue): a send on a closed
	// channel panics in Go.
	closeMu sync.RWMutex
	closed  bool
	queue   chan order

	nextID, accepted, rejected, bad atomic.Uint64
	wg                              sync.WaitGroup
}

func newShop(workers, queue int, delay time.Duration) *shop {
	s := &shop{
		workers:   workers,
		delay:     delay,
		cpuRounds: 200,
		maxBody:   1024,
		catalog: []product{
			{"gopher-plush", 1999, 1_000_000},
			{"ferris-plush", 1999, 1_000_000},
			{"rust-mug", 1250, 1_000_000},
			{"channel-tee", 2400, 1_000_000},
			{"select-socks", 900, 1_000_000},
			{"limited-poster", 4900, 500},
		},
		queue:  make(chan order, queue),
		totals: totals{perWorker: make([]uint64, workers)},
	}
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go s.worker(i)
	}
	return s
}

func (s *shop) worker(id int) {
	defer s.wg.Done()
	for o := range s.queue {
		receipt := checksum(o, s.cpuRounds)
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		s.catalogMu.Lock()
		p := &s.catalog[o.product]
		ok := p.stock >= uint64(o.qty)
		if ok {
			p.stock -= uint64(o.qty)
		}
		price := p.priceCents
		s.catalogMu.Unlock()

		s.totalsMu.Lock()
		t := &s.totals
		t.processed++
		t.perWorker[id]++
		t.receipts ^= receipt
		if ok {
			t.fulfilled++
			t.units += uint64(o.qty)
			t.revenueCents += price * uint64(o.qty)
		} else {
			t.backordered++
		}
		s.totalsMu.Unlock()
	}
}

// checksum: rounds of FNV-1a (one u64 at a time) over the order, the CPU
// step; the same loop as the Rust shop's.
func checksum(o order, rounds int) uint64 {
	h := uint64(0xcbf29ce484222325)
	for r := 0; r < rounds; r++ {
		for _, v := range [5]uint64{o.id, uint64(o.product), uint64(o.qty), o.customer, uint64(r)} {
			h ^= v
			h *= 0x100000001b3
		}
	}
	return h
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/buy":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed; use POST")
			return
		}
		s.buy(w, r)
	case "/stats":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed; use GET")
			return
		}
		writeJSON(w, http.StatusOK, s.stats())
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such page %q; try POST /buy or GET /stats", r.URL.Path))
	}
}

func (s *shop) badRequest(w http.ResponseWriter, msg string) {
	s.bad.Add(1)
	writeError(w, http.StatusBadRequest, msg)
}

func (s *shop) buy(w http.ResponseWriter, r *http.Request) {
	tooBig := fmt.Sprintf("body larger than %d bytes", s.maxBody)
	if r.ContentLength > s.maxBody {
		s.badRequest(w, tooBig)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.badRequest(w, tooBig)
		} else {
			s.badRequest(w, "reading the body: "+err.Error())
		}
		return
	}
	var req struct {
		Product  *string `json:"product"`
		Qty      *int64  `json:"qty"`
		Customer *uint64 `json:"customer"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		s.badRequest(w, "malformed JSON: "+err.Error())
		return
	}
	if req.Product == nil || req.Qty == nil || req.Customer == nil {
		s.badRequest(w, "malformed JSON: product, qty and customer are required")
		return
	}
	if *req.Qty < 1 {
		s.badRequest(w, fmt.Sprintf("qty must be at least 1, got %d", *req.Qty))
		return
	}
	if *req.Qty > maxQty {
		s.badRequest(w, fmt.Sprintf("qty must be at most %d, got %d", maxQty, *req.Qty))
		return
	}
	s.catalogMu.RLock()
	idx := -1
	for i := range s.catalog {
		if s.catalog[i].name == *req.Product {
			idx = i
			break
		}
	}
	s.catalogMu.RUnlock()
	if idx < 0 {
		s.badRequest(w, fmt.Sprintf("unknown product %q", *req.Product))
		return
	}
	o := order{id: s.nextID.Add(1), product: idx, qty: uint32(*req.Qty), customer: *req.Customer}

	s.closeMu.RLock()
	msg := ""
	if s.closed {
		msg = "shutting down, retry later"
	} else {
		select {
		case s.queue <- o:
		default:
			msg = "queue full, retry later"
		}
	}
	s.closeMu.RUnlock()
	if msg != "" {
		s.rejected.Add(1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, msg)
		return
	}
	s.accepted.Add(1)
	writeJSON(w, http.StatusAccepted, map[string]uint64{"order": o.id})
}

func (s *shop) stats() shopStats {
	s.catalogMu.RLock()
	stock := make([][2]any, len(s.catalog))
	for i, p := range s.catalog {
		stock[i] = [2]any{p.name, p.stock}
	}
	s.catalogMu.RUnlock()
	s.totalsMu.Lock()
	defer s.totalsMu.Unlock()
	t := s.totals
	return shopStats{
		Accepted:     s.accepted.Load(),
		Processed:    t.processed,
		Queued:       uint64(len(s.queue)),
		Rejected:     s.rejected.Load(),
		BadRequests:  s.bad.Load(),
		Fulfilled:    t.fulfilled,
		Backordered:  t.backordered,
		Units:        t.units,
		RevenueCents: t.revenueCents,
		PerWorker:    append([]uint64(nil), t.perWorker...),
		Stock:        stock,
	}
}

// closeQueue stops new orders; the workers drain the queue and return.
func (s *shop) closeQueue() {
	s.closeMu.Lock()
	s.closed = true
	close(s.queue)
	s.closeMu.Unlock()
	s.wg.Wait()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func shopMain(args []string) {
	fs := flag.NewFlagSet("shop", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	workers := fs.Int("workers", 8, "worker goroutines")
	queue := fs.Int("queue", 1024, "order queue capacity")
	delayUs := fs.Int("delay-us", 200, "simulated downstream delay per order, µs")
	fs.Parse(args)

	s := newShop(*workers, *queue, time.Duration(*delayUs)*time.Microsecond)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	srv.Shutdown(ctx)
	cancel()
	s.closeQueue()
	st := s.stats()
	b, _ := json.Marshal(st)
	fmt.Printf("summary %s\n", b)
	if st.Accepted != st.Processed || st.Queued != 0 {
		fmt.Fprintf(os.Stderr, "accepted %d != processed %d\n", st.Accepted, st.Processed)
		os.Exit(1)
	}
}
