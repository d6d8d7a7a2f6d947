// go_panic.go - a Go program that prints a line on stdout and then panics,
// for ulogd's multiline "go" format (tests/integration/test_pipeline_corpus.py).
// The runtime prints "panic: ...", a blank line and the goroutine's stack on
// stderr, and exits with status 2.
//
// Go makes its system calls itself, never through libc's write(2), so the
// shim cannot see these bytes: the test relays them through a `cat` that
// runs under the shim.
package main

import "fmt"

type order struct{ id int }

func charge(o *order) {
	if o.id == 42 {
		panic(fmt.Sprintf("cannot charge order %d: card declined", o.id))
	}
}

func main() {
	fmt.Println("charging orders")
	charge(&order{id: 42})
}
