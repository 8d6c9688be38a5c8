//go:build tamago

// Command hello is an ordinary Go program run as an Exo environment:
// goroutines, channels, a map, fmt, time.Sleep and a garbage-collector-heavy
// loop, then an exit status taken from its boot argument ("exit=N").
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exo-os/exo/libos"
)

func main() {
	fmt.Printf("hello from env %d (%q)\n", libos.EnvID(), libos.Arg())

	// Goroutines and channels: a pipeline of workers.
	jobs, results := make(chan int), make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- j * j
			}
		}()
	}
	go func() {
		for i := 1; i <= 100; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	sum := 0
	for r := range results {
		sum += r
	}
	fmt.Printf("sum of squares 1..100 = %d\n", sum)

	// time.Sleep: the environment idles in the kernel.
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Printf("slept %v\n", time.Since(start).Round(time.Millisecond))

	// The garbage collector under load: allocate far more than the heap
	// holds, keeping a rotating window of maps alive.
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	keep := make([]map[int][]byte, 64)
	for i := 0; i < 20000; i++ {
		m := map[int][]byte{}
		for j := 0; j < 8; j++ {
			m[j] = make([]byte, 128)
		}
		keep[i%len(keep)] = m
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("gc: %d cycles, %d MiB allocated in total\n", after.NumGC-before.NumGC, (after.TotalAlloc-before.TotalAlloc)>>20)

	status := 0
	for _, f := range strings.Fields(libos.Arg()) {
		if v, ok := strings.CutPrefix(f, "exit="); ok {
			status, _ = strconv.Atoi(v)
		}
	}
	fmt.Printf("done, exiting with status %d\n", status)
	os.Exit(status)
}
