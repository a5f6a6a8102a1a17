package main

// Sizes {full, quick}: the same pairs as the constants in bench/src/{spawn,chan,sync,net}.rs.
var (
	spawnJoinN        = [2]int{1_000_000, 100_000}
	skynetLeaves      = [2]int{1_000_000, 100_000}
	parkedN           = [2]int{1_000_000, 100_000}
	pingpongN         = [2]int{1_000_000, 100_000}
	mpmcN             = [2]int{1_000_000, 100_000}
	selectPerProducer = [2]int{250_000, 25_000}
	workerPoolN       = [2]int{1_000_000, 100_000}
	contendedPerTask  = [2]int{1_000_000, 100_000}
	uncontendedN      = [2]int{10_000_000, 1_000_000}
	rwPerTask         = [2]int{1_000_000, 100_000}
	wgRounds          = [2]int{1_000, 100}
	echoRounds        = [2]int{100, 10}
)

const (
	chanCap     = 128
	mpmcSides   = 4
	selectArms  = 4
	poolWorkers = 8
	tasks       = 8
	wgGroup     = 100
	writeEvery  = 10
	echoConns   = 1_000
	echoMsg     = 64
)
