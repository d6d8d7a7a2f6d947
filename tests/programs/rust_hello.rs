// rust_hello.rs - Rust's own output paths: println!, print! with an explicit
// flush, writeln! on a locked stdout, eprintln! and eprint!.
//
// Rust's std writes through libc's write(2) (stdout is a LineWriter: one
// write per line; stderr is unbuffered: one write per eprint! piece), so the
// shim's fd-level hook sees every byte. Exits with status 7, so the test can
// check that the status passes through unchanged.
use std::io::Write;

fn main() {
    for i in 0..100 {
        println!("println line {:03}", i);
    }
    print!("a line in ");
    std::io::stdout().flush().expect("flush stdout");
    println!("two pieces");
    {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for i in 0..20 {
            writeln!(lock, "writeln on a locked stdout {}", i).expect("write stdout");
        }
    }
    eprintln!("eprintln line");
    eprint!("eprint in ");
    eprintln!("two pieces");
    println!("last println line");
    std::process::exit(7);
}
