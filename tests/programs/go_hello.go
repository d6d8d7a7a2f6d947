// go_hello.go - Go's own output paths: fmt.Println, fmt.Printf,
// os.Stdout.Write, fmt.Fprintln(os.Stderr) and the log package (stderr).
//
// Go's runtime makes its system calls itself, never through libc's write(2),
// even in a binary linked dynamically against libc (cgo), where the shim is
// loaded: LD_PRELOAD cannot see these bytes. The tests build it both ways and
// check that the output is unchanged and that none of it reaches all.log.
// With $PROBE_MAPS set, it copies /proc/self/maps and its pid into that
// file, so a test can tell "the shim was not loaded" from "the shim was
// loaded and saw nothing". Exits with status 5.
package main

import (
	"fmt"
	"log"
	"os"
)

func main() {
	if path := os.Getenv("PROBE_MAPS"); path != "" {
		maps, err := os.ReadFile("/proc/self/maps")
		if err == nil {
			maps = append(maps, fmt.Sprintf("PID=%d\n", os.Getpid())...)
			err = os.WriteFile(path, maps, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_hello:", err)
			os.Exit(1)
		}
	}
	for i := 0; i < 50; i++ {
		fmt.Println("fmt.Println line", i)
	}
	fmt.Printf("fmt.Printf %d and %s\n", 42, "text")
	os.Stdout.Write([]byte("os.Stdout.Write line\n"))
	fmt.Fprintln(os.Stderr, "fmt.Fprintln stderr line")
	log.SetFlags(0)
	log.Println("log.Println line")
	fmt.Println("last fmt.Println line")
	os.Exit(5)
}
